"""Function keys (issue 11 item 10) through dag.test() of tests/dags/function_keys.py.

The emulated function honours ``authLevel: function`` (401 without a valid key), so a success
proves the key arrived; a key passed in the path is masked from render time on, a key read
from Key Vault never appears at all: neither in the run's output, an error, the audit line,
the rendered fields nor XCom.
"""

from __future__ import annotations

import json
import secrets

import pytest

from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator

from ..dags.function_keys import PARAMS, PATH
from ..support import REPO, load_dag, migrate_db, spy_errors, task_states, xcom_value
from .identities import vault_host_of

DAG_FILE = REPO / "tests" / "dags" / "function_keys.py"


@pytest.fixture(scope="module")
def dag():
    migrate_db()
    return load_dag(DAG_FILE, "function_key_calls")


@pytest.fixture
def errors(monkeypatch):
    """What each task raised, by task id (a spy around execute; the task still fails)."""
    return spy_errors(monkeypatch, AppServiceEndpointOperator)


@pytest.fixture
def function_app(world, use_conn):
    """A function app whose PATH needs a function key; the key is also in the connection's vault."""
    emu = world.emu
    app = emu.add_site(world.subscription_id, world.resource_group, "orders-fn", kind="functionapp,linux")
    path_key, vault_key = ("fk-canary-" + secrets.token_urlsafe(18) for _ in range(2))
    route = emu.add_function(app, PATH, keys=[path_key, vault_key])
    vault = emu.add_vault(world.tenant, vault_host_of(world).split(".")[0])
    emu.set_secret(vault, PARAMS["secret_name"], vault_key)
    sp = emu.add_service_principal(world.tenant)
    emu.assign_role(sp, "Reader", f"/subscriptions/{world.subscription_id}")
    emu.assign_role(sp, "Key Vault Secrets User", vault)
    use_conn(
        "azure_app_service_default",
        world.conn("service_principal_secret", login=sp.client_id, password=sp.secret, key_vault_url=vault),
    )
    use_conn("fk_no_vault", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret))
    return route, path_key, vault_key


def test_function_keys_arrive_and_never_show(world, function_app, dag, errors, capfd):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.sdk.log import redact
    from airflow.utils.session import create_session

    route, path_key, vault_key = function_app
    run = dag.test(run_conf={**PARAMS, "fkey": path_key})
    assert task_states(run) == {
        "key_in_path": "success",
        "key_from_vault": "success",
        "no_key": "failed",
        "key_in_path_fails": "failed",
        "both_ways": "failed",
        "bad_secret_name": "failed",
        "missing_secret": "failed",
        "no_vault_in_connection": "failed",
    }
    # Three calls reached the function (in path, from the vault, none); the 418 one a fourth.
    assert route.calls == 4
    assert "HTTP 401" in errors["no_key"], errors["no_key"]
    assert "TaskArgumentError" in errors["both_ways"] and "function_key_secret_name" in errors["both_ways"]
    assert "TaskArgumentError" in errors["bad_secret_name"] and "function_key_secret_name" in errors["bad_secret_name"]
    assert "PermanentAzureError" in errors["missing_secret"] and "absent-key" in errors["missing_secret"]
    assert errors["no_vault_in_connection"].startswith("ConnectionConfigError: Connection field 'key_vault_url'")
    assert "code=***" in errors["key_in_path_fails"], "positive control: the failing path is named, its key masked"

    output = "".join(capfd.readouterr())
    assert "AUDIT" in output and "code=***" in output, "positive control: the audit line shows the masked path"
    with create_session() as session:
        rows = session.query(RenderedTaskInstanceFields).filter_by(dag_id=run.dag_id, run_id=run.run_id).all()
        rendered = json.dumps([row.rendered_fields for row in rows])
    # Positive control (the field named *secret* is masked by name by Airflow itself).
    assert f"{PATH}?code=***&day=1" in rendered, "rendered fields were stored, the key masked"
    xcoms = json.dumps([xcom_value(run, t) for t in ("key_in_path", "key_from_vault")])
    haystacks = {"output": output, "errors": json.dumps(errors), "rendered fields": rendered, "XCom": xcoms}
    for key in (path_key, vault_key):
        assert redact(key) != key, "every key the operator saw is registered with the masker"
        for where, text in haystacks.items():
            assert key not in text, f"a function key reached the {where}"
