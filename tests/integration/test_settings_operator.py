"""AppServiceUpdateAppSettingsOperator through dag.test() of real DAGs against the emulator.

The ``rotate_settings`` example DAG covers Key Vault references (resolved after ``Initialized``
polls; refused to the app's identity). A small probe DAG, written by this module, takes every
argument from ``run_conf`` (native rendering) for the merge, remove, sticky, connection-string,
permission, race and leak cases. No SDK call is mocked.
"""

from __future__ import annotations

import json
import secrets
import textwrap

import pytest

from airflow_provider_appservice.operations.key_vault_references import (
    INITIALIZED,
    wait_for_key_vault_references,
)
from airflow_provider_appservice.operations.targets import AppTarget
from airflow_provider_appservice.testing.clock import FakeClock
from airflow_provider_appservice.transport.backoff import PollSchedule

from ..support import EXAMPLE_DAGS, load_dag, migrate_db, spy_errors, task_states, xcom_value

PROBE_DAG = textwrap.dedent(
    '''
    """Every argument of the settings operator from run_conf (test probe)."""
    from airflow.sdk import dag

    from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator

    ARGS = ("settings", "remove", "sticky_settings", "connection_strings", "remove_connection_strings")


    @dag(
        schedule=None,
        render_template_as_native_obj=True,
        params={
            "app_name": "shop", "slot": None, "timeout": 300, "poll_interval": 0, "verify": True,
            **{a: None for a in ARGS},
        },
    )
    def settings_probe():
        AppServiceUpdateAppSettingsOperator(
            task_id="update",
            app_name="{{ params.app_name }}",
            slot="{{ params.slot }}",
            key_vault_reference_timeout="{{ params.timeout }}",
            poll_interval="{{ params.poll_interval }}",
            verify_key_vault_references="{{ params.verify }}",
            **{a: "{{ params.%s }}" % a for a in ARGS},
        )


    settings_probe()
    '''
)


@pytest.fixture(scope="module")
def dags(tmp_path_factory):
    migrate_db()
    probe = tmp_path_factory.mktemp("dags") / "settings_probe.py"
    probe.write_text(PROBE_DAG)
    return {
        "probe": load_dag(probe, "settings_probe"),
        "rotate": load_dag(EXAMPLE_DAGS / "rotate_settings.py", "rotate_settings"),
    }


PROBE_DEFAULTS = {
    "app_name": "shop",
    "slot": None,
    "timeout": 300,
    "poll_interval": 0,
    "verify": True,
    "settings": None,
    "remove": None,
    "sticky_settings": None,
    "connection_strings": None,
    "remove_connection_strings": None,
}


def probe(dags, **conf):
    """Run the probe DAG with every param given (a run's conf must not leak into the next)."""
    return dags["probe"].test(run_conf={**PROBE_DEFAULTS, **conf})


def _sp(world, use_conn, role: str):
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, role, f"/subscriptions/{world.subscription_id}/resourceGroups/{world.resource_group}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    return sp


@pytest.fixture
def writer(world, use_conn):
    """Airflow's identity: Website Contributor on the resource group (least privilege for settings)."""
    return _sp(world, use_conn, "Website Contributor")


def arm_calls(emu, method: str, suffix: str) -> list:
    return [r for r in emu.requests if r.kind == "arm" and r.method == method and r.path.endswith(suffix)]


def test_merge_keeps_unrelated_keys_and_removes_only_what_it_was_told(world, writer, dags):
    emu = world.emu
    emu.set_app_settings(world.site, {"KEEP": "kept-value", "OLD": "old-value", "CHANGE": "before"})
    run = probe(dags, settings={"CHANGE": "after", "ADD": "added"}, remove=["OLD", "NEVER_THERE"])
    assert task_states(run) == {"update": "success"}
    assert emu.app_settings(world.site) == {"KEEP": "kept-value", "CHANGE": "after", "ADD": "added"}
    assert xcom_value(run, "update") == {
        "set": ["ADD", "CHANGE"],
        "removed": ["OLD"],
        "sticky": [],
        "key_vault_references": {},
    }
    assert len(arm_calls(emu, "PUT", "/config/appsettings")) == 1
    # list, then the re-read that verifies the write
    assert len(arm_calls(emu, "POST", "/config/appsettings/list")) == 2
    assert emu.app_settings(world.slot) == {}, "the production write did not touch the slot"

    # Running it again changes nothing, so nothing is written.
    again = probe(dags, settings={"CHANGE": "after", "ADD": "added"}, remove=["OLD"])
    assert task_states(again) == {"update": "success"}
    assert len(arm_calls(emu, "PUT", "/config/appsettings")) == 1


def test_sticky_names_are_added_site_wide_from_a_slot(world, writer, dags):
    emu = world.emu
    assert emu.slot_config_names(world.site)["appSettingNames"] is None  # never written: null lists
    run = probe(dags, slot="staging", settings={"A": "a-value"}, sticky_settings=["A"])
    assert task_states(run) == {"update": "success"}
    assert emu.app_settings(world.slot) == {"A": "a-value"}
    assert emu.slot_config_names(world.site) == {
        "appSettingNames": ["A"],
        "connectionStringNames": [],
        "azureStorageConfigNames": [],
    }
    (put,) = arm_calls(emu, "PUT", "/config/slotConfigNames")
    assert "/slots/" not in put.path, "sticky names live on the site, not the slot"

    emu.set_slot_config_names(world.site, app_settings=["A", "EXISTING"], connection_strings=["CS1"])
    run = probe(dags, slot="staging", sticky_settings=["B", "A"])
    assert task_states(run) == {"update": "success"}
    assert emu.slot_config_names(world.site)["appSettingNames"] == ["A", "EXISTING", "B"]
    assert emu.slot_config_names(world.site)["connectionStringNames"] == ["CS1"]
    assert xcom_value(run, "update")["sticky"] == ["A", "B"]

    # Already sticky: read, not written.
    run = probe(dags, sticky_settings=["B"])
    assert task_states(run) == {"update": "success"}
    assert len(arm_calls(emu, "PUT", "/config/slotConfigNames")) == 2


def test_connection_strings_are_merged(world, writer, dags):
    emu = world.emu
    emu.set_connection_strings(world.site, {"KEEP": ("Server=keep;", "SQLAzure"), "DROP": ("Server=drop;", "Custom")})
    emu.set_app_settings(world.site, {"UNRELATED": "stays"})
    run = probe(
        dags,
        connection_strings={"NEW": {"value": "Host=new;Password=pw-new", "type": "PostgreSQL"}},
        remove_connection_strings=["DROP"],
    )
    assert task_states(run) == {"update": "success"}
    assert emu.connection_strings(world.site) == {
        "KEEP": {"value": "Server=keep;", "type": "SQLAzure"},
        "NEW": {"value": "Host=new;Password=pw-new", "type": "PostgreSQL"},
    }
    assert emu.app_settings(world.site) == {"UNRELATED": "stays"}
    assert not arm_calls(emu, "PUT", "/config/appsettings"), "app settings were not asked for, so not written"
    value = xcom_value(run, "update")
    assert value["connection_strings_set"] == ["NEW"] and value["connection_strings_removed"] == ["DROP"]


def _vault(world, *secrets_: str) -> str:
    vault = world.emu.add_vault(world.tenant, f"kv{world.subscription_id[:8]}")
    for name in secrets_:
        world.emu.set_secret(vault, name, "secret-" + secrets.token_hex(8))
    return vault


def _rotate_conf(vault_url: str, **extra) -> dict:
    return {"app_name": "shop", "vault_name": vault_url.split("//")[1].split(".")[0], "poll_interval": 0, **extra}


def test_rotate_settings_waits_for_resolved_references_then_restarts(world, writer, dags):
    emu = world.emu
    vault = _vault(world, "db-password", "payments-api-key")
    app_identity = emu.enable_site_identity(world.site)
    emu.assign_role(app_identity, "Key Vault Secrets User", vault)
    emu.set_app_settings(world.site, {"WEBSITES_PORT": "8080"})
    emu.kv_reference_resolution_polls = 3

    run = dags["rotate"].test(run_conf=_rotate_conf(vault))
    assert task_states(run) == {"point_settings_at_key_vault": "success", "restart_to_fetch_secrets": "success"}
    assert xcom_value(run, "point_settings_at_key_vault") == {
        "set": ["DB_PASSWORD", "PAYMENTS_API_KEY"],
        "removed": [],
        "sticky": ["DB_PASSWORD"],
        "key_vault_references": {"DB_PASSWORD": "Resolved", "PAYMENTS_API_KEY": "Resolved"},
    }
    settings = emu.app_settings(world.site)
    assert settings["WEBSITES_PORT"] == "8080"
    assert settings["DB_PASSWORD"].startswith("@Microsoft.KeyVault(VaultName=kv")
    # Three reads answered Initialized, the fourth Resolved; then the restart.
    assert len(arm_calls(emu, "GET", "/config/configreferences/appsettings")) == 4
    assert emu.restarts(world.site) == 1


def test_a_reference_only_the_app_cannot_read_fails_naming_it(world, writer, dags, capfd):
    """Airflow's identity can read the secret; the app's identity cannot: the task must fail."""
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

    emu = world.emu
    vault = _vault(world, "db-password", "payments-api-key")
    emu.assign_role(writer, "Key Vault Secrets User", vault)
    app_identity = emu.enable_site_identity(world.site)
    # The app may read one secret but not the other.
    vault_id = emu.world.vault_for_url(vault).resource_id
    emu.assign_role(app_identity, "Key Vault Secrets User", f"{vault_id}/secrets/payments-api-key")
    airflow_can = SecretClient(
        vault,
        ClientSecretCredential(world.tenant.tenant_id, writer.client_id, writer.secret, connection_verify=emu.ca_path),
        connection_verify=emu.ca_path,
    ).get_secret("db-password")
    assert airflow_can.value

    run = dags["rotate"].test(run_conf=_rotate_conf(vault))
    assert task_states(run) == {"point_settings_at_key_vault": "failed", "restart_to_fetch_secrets": "upstream_failed"}
    output = "".join(capfd.readouterr())
    assert "DB_PASSWORD: AccessToKeyVaultDenied — grant the app's identity 'Key Vault Secrets User'" in output
    assert "PAYMENTS_API_KEY: " not in output.split("do not resolve with the app's identity")[-1].split("AUDIT")[0]
    assert "outcome=key-vault-references-unresolved" in output
    assert emu.restarts(world.site) == 0
    assert airflow_can.value not in output


def test_references_still_initialized_at_the_bound_fail_as_a_timeout(world, writer, dags, capfd):
    emu = world.emu
    vault = _vault(world, "db-password", "payments-api-key")
    emu.assign_role(emu.enable_site_identity(world.site), "Key Vault Secrets User", vault)
    emu.kv_reference_resolution_polls = 1000
    run = dags["rotate"].test(run_conf=_rotate_conf(vault, key_vault_reference_timeout=0))
    assert task_states(run)["point_settings_at_key_vault"] == "failed"
    output = "".join(capfd.readouterr())
    assert "did not resolve within 0s" in output and "DB_PASSWORD: Initialized" in output


def test_the_wait_is_bounded_on_an_injected_clock(world, writer):
    """300 s of Initialized on a FakeClock: 31 reads, 10 s apart, no real sleeping."""
    from airflow_provider_appservice.hooks.app_service import AppServiceHook

    emu = world.emu
    vault = _vault(world, "db-password")
    emu.assign_role(emu.enable_site_identity(world.site), "Key Vault Secrets User", vault)
    emu.set_app_settings(world.site, {"DB_PASSWORD": f"@Microsoft.KeyVault(SecretUri={vault}/secrets/db-password)"})
    emu.kv_reference_resolution_polls = 1000
    clock = FakeClock()
    statuses = wait_for_key_vault_references(
        AppServiceHook().get_conn(),
        AppTarget(world.resource_group, "shop"),
        ["DB_PASSWORD"],
        timeout=300,
        schedule=PollSchedule(first=10, factor=1.0, ceiling=10),
        clock=clock,
    )
    assert statuses["DB_PASSWORD"].status == INITIALIZED
    assert clock.t == 300 and len(clock.sleeps) == 30
    assert len(arm_calls(emu, "GET", "/config/configreferences/appsettings")) == 31


def test_values_never_reach_logs_xcom_or_rendered_fields(world, writer, dags, capfd):
    """Canary values (set, read back, connection string) are absent from everything the run
    printed (unredacted), from XCom and from the rendered fields stored for the UI. Positive
    control: a key name, which is logged, is found in the same captured text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.sdk.log import redact
    from airflow.utils.session import create_session

    emu = world.emu
    token = secrets.token_hex(8)
    key = f"LEAK_PROBE_{token.upper()}"
    written, existing, conn_value = (f"canary-{what}-{secrets.token_hex(12)}" for what in ("set", "kept", "conn"))
    emu.set_app_settings(world.site, {"EXISTING_SECRET": existing})
    run = probe(dags, settings={key: written}, connection_strings={"DB": {"value": conn_value, "type": "SQLAzure"}})
    assert task_states(run) == {"update": "success"}
    assert emu.app_settings(world.site)[key] == written

    output = "".join(capfd.readouterr())
    assert key in output, "positive control: the logged key name must be in the captured output"
    assert "AUDIT action=update-app-settings" in output
    for canary in (written, existing, conn_value):
        assert canary not in output
        assert redact(canary) != canary, "every value the operator saw is registered with the masker"
    assert not any(c in json.dumps(xcom_value(run, "update")) for c in (written, existing, conn_value))
    with create_session() as session:
        row = session.query(RenderedTaskInstanceFields).filter_by(dag_id=run.dag_id, run_id=run.run_id).one()
        rendered = json.dumps(row.rendered_fields)
    assert key in rendered, "positive control: the rendered settings were stored"
    assert written not in rendered and conn_value not in rendered, "masked at render time"


def test_reader_gets_403_naming_the_action_and_role(world, use_conn, dags, capfd):
    _sp(world, use_conn, "Reader")
    run = probe(dags, settings={"A": "a-value"})
    assert task_states(run) == {"update": "failed"}
    output = "".join(capfd.readouterr())
    assert "HTTP 403" in output and "AuthorizationFailed" in output
    assert "'Microsoft.Web/sites/config/list/action'" in output and "'Website Contributor'" in output
    assert not arm_calls(world.emu, "PUT", "/config/appsettings")


def test_a_lost_update_fails_naming_the_keys(world, writer, dags, capfd):
    """A racing writer whose PUT lands right after ours (with the map it read before) restores
    the old values. Emulated by a PUT that answers 200 without applying: the re-read shows the
    old state, exactly as after such a race."""
    emu = world.emu
    emu.set_app_settings(world.site, {"CHANGE": "before-value", "KEEP": "k"})
    emu.fault(
        status=200,
        method="PUT",
        path=r"/sites/shop/config/appsettings$",
        times=1,
        body={"name": "appsettings", "properties": {"CHANGE": "before-value", "KEEP": "k"}},
    )
    run = probe(dags, settings={"CHANGE": "after-value"}, remove=["KEEP"])
    assert task_states(run) == {"update": "failed"}
    output = "".join(capfd.readouterr())
    assert "did not show this task's change for: CHANGE, KEEP" in output
    assert "Another writer changed the app's settings" in output and "one-slot Airflow pool" in output
    assert "outcome=lost-update" in output and "written=appsettings" in output, "the write is audited"
    assert "after-value" not in output


def test_contradictory_arguments_fail_before_any_call(world, writer, dags, capfd):
    run = probe(dags, settings={"A": "a-value"}, remove=["A"])
    assert task_states(run) == {"update": "failed"}
    assert "settings and remove both name A" in "".join(capfd.readouterr())
    assert not [r for r in world.emu.requests if r.kind == "arm"]


def test_function_app_on_elastic_premium(world, writer, dags):
    emu = world.emu
    func = emu.add_site(
        world.subscription_id, world.resource_group, "func-orders", kind="functionapp,linux", plan_sku="EP1"
    )
    emu.set_app_settings(func, {"FUNCTIONS_EXTENSION_VERSION": "~4", "AzureWebJobsStorage__accountName": "st1"})
    run = probe(dags, app_name="func-orders", settings={"FUNCTIONS_WORKER_RUNTIME": "python"})
    assert task_states(run) == {"update": "success"}
    assert emu.app_settings(func) == {
        "FUNCTIONS_EXTENSION_VERSION": "~4",
        "AzureWebJobsStorage__accountName": "st1",
        "FUNCTIONS_WORKER_RUNTIME": "python",
    }


def test_verify_all_checks_references_this_task_did_not_write(world, writer, dags, capfd):
    emu = world.emu
    vault = _vault(world, "db-password")
    emu.assign_role(emu.enable_site_identity(world.site), "Key Vault Secrets User", vault)
    emu.set_app_settings(
        world.site,
        {
            "DB_PASSWORD": f"@Microsoft.KeyVault(SecretUri={vault}/secrets/db-password)",
            "LEGACY_KEY": f"@Microsoft.KeyVault(SecretUri={vault}/secrets/deleted-long-ago)",
        },
    )
    run = probe(dags, settings={"PLAIN": "plain-value"}, verify="all")
    assert task_states(run) == {"update": "failed"}
    output = "".join(capfd.readouterr())
    assert "LEGACY_KEY: SecretNotFound — create the secret in the vault or fix its name" in output
    assert "DB_PASSWORD=Resolved" in output

    run = probe(dags, settings={"PLAIN": "plain-value"})  # default: only references it wrote
    assert task_states(run) == {"update": "success"}
    assert xcom_value(run, "update")["key_vault_references"] == {}


def test_json_text_fields_are_parsed_and_masked_and_the_retry_policy_fails_fast():
    """Without native rendering, a templated dict arrives as JSON text; it is parsed and masked
    at render time. A reference the app cannot read fails at once; a timeout may be retried."""
    from airflow.sdk.definitions.retry_policy import RetryAction
    from airflow.sdk.log import redact

    from airflow_provider_appservice.errors import KeyVaultReferenceError, KeyVaultReferenceTimeout
    from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator

    canary = "canary-json-" + secrets.token_hex(8)
    op = AppServiceUpdateAppSettingsOperator(
        task_id="t", app_name="shop", settings=json.dumps({"K": canary}), remove='["OLD"]'
    )
    op._mask_values()
    assert op.settings == {"K": canary} and op.remove == ["OLD"]
    assert redact(canary) != canary
    policy = op.retry_policy
    assert policy.evaluate(KeyVaultReferenceError("x"), 1, 3).action == RetryAction.FAIL
    assert policy.evaluate(KeyVaultReferenceTimeout("x"), 1, 3).action != RetryAction.FAIL


# -- deferred: the references are checked from the triggerer -------------------------------------------


def test_deferred_references_resolve_fail_naming_the_refused_one_or_time_out_at_their_own_bound(world, writer, capfd):
    from ..support import REPO

    migrate_db()
    emu = world.emu
    vault = _vault(world, "db-password", "payments-api-key")
    app_identity = emu.enable_site_identity(world.site)
    vault_id = emu.world.vault_for_url(vault).resource_id
    emu.assign_role(app_identity, "Key Vault Secrets User", f"{vault_id}/secrets/db-password")  # not the API key
    # Each reference answers Initialized to its first 3 reads; "times_out" may read for 0.3 s only,
    # kept Initialized there by a 0.2 s delay on every read of the app settings' references.
    emu.kv_reference_resolution_polls = 3
    slow = emu.fault(method="GET", path=r"/config/configreferences/appsettings$", delay=0.2, times=None)
    dag = load_dag(REPO / "tests" / "dags" / "settings_deferred.py", "settings_deferred")
    run = dag.test(run_conf={"vault": vault})
    slow.remove()
    assert task_states(run) == {"resolves": "success", "denied": "failed", "times_out": "failed"}
    assert xcom_value(run, "resolves") == {
        "set": ["DB_PASSWORD", "PLAIN"],
        "removed": [],
        "sticky": [],
        "key_vault_references": {"DB_PASSWORD": "Resolved"},
        "connection_strings_set": ["Orders"],
        "connection_strings_removed": [],
        "connection_string_key_vault_references": {"Orders": "Resolved"},
    }
    output = "".join(capfd.readouterr())
    assert output.count("Deferring: the triggerer waits") == 3
    assert "API_KEY: AccessToKeyVaultDenied — grant the app's identity 'Key Vault Secrets User'" in output
    assert "do not resolve with the app's identity" in output
    assert "did not resolve within 0.3s" in output and "CACHE_KEY: Initialized" in output
    assert "TaskDeferralTimeout" not in output
    assert "not-a-reference" not in output
    settings = emu.app_settings(world.site)
    assert {"DB_PASSWORD", "API_KEY", "CACHE_KEY", "PLAIN"} <= set(settings)


def test_values_and_names_app_service_would_not_take_fail_before_any_call(world, writer, dags, monkeypatch):
    """Issue 11 item 8 in one run: None, a dict, a list, a space or hyphen in a name, a value
    over the limit and a wrong connection string type each fail with TaskArgumentError naming the
    setting, and no request reaches ARM (the emulator's journal)."""
    from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator

    from ..dags.settings_refusals import CASES
    from ..support import REPO

    seen = spy_errors(monkeypatch, AppServiceUpdateAppSettingsOperator)
    dag = load_dag(REPO / "tests" / "dags" / "settings_refusals.py", "settings_refusals")
    before = len(world.emu.requests)
    run = dag.test()
    assert task_states(run) == dict.fromkeys(CASES, "failed")
    for task_id, (_kwargs, argument) in CASES.items():
        assert seen[task_id].startswith(f"TaskArgumentError: Argument '{argument}"), (task_id, seen[task_id])
        assert "Fix:" in seen[task_id]
    assert "xxxx" not in "".join(seen.values()), "a refusal never shows the value"
    assert [r for r in world.emu.requests[before:] if r.kind == "arm"] == [], "refused before any ARM call"
