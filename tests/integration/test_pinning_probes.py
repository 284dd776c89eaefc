"""The token-pinning probes of issue 11, every one refused before anything is sent.

One dag.test() run holds the probes a DAG author can try through task arguments (the
endpoint operator and the health sensor): powerful audiences by URI variants and application
id, audiences the app does not accept, a ``Host`` or ``Authorization`` header, an absolute URL
as the path, base URLs with a trailing dot, user information, a port or a look-alike host, and
``..`` as a slot or app name. The emulator's journal proves that no request reached an app host
or the other app, and that the only token requested was the ARM token of the allow-rule's read.

The probes that need no DAG live next to the code they probe:
- a stored ``scm_host`` rewritten through the state store or a trigger's kwargs:
  ``test_untrusted_state.py`` (no token leaves; TokenPinningError);
- an LRO or redirect URL naming another host, plain http, another port, another SCM host, the
  Kudu token sent anywhere but its SCM host, the vault token to another vault:
  ``test_token_pinning.py``.
"""

from __future__ import annotations

import pytest

from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator
from airflow_provider_appservice.sensors.health import AppServiceHealthSensor

from ..dags.pinning_probes import ALLOW_RULE, FLOOR, OTHERS
from ..support import REPO, load_dag, migrate_db, task_states

ARM = "https://management.azure.com"


@pytest.fixture(scope="module")
def probes_dag():
    migrate_db()
    return load_dag(REPO / "tests" / "dags" / "pinning_probes.py", "pinning_probes")


@pytest.fixture
def errors(monkeypatch):
    """What each task raised, by task id (a spy around execute; the task still fails)."""
    seen: dict[str, BaseException] = {}
    for cls in (AppServiceEndpointOperator, AppServiceHealthSensor):
        original = cls.execute

        def execute(self, context, _original=original):
            try:
                return _original(self, context)
            except Exception as exc:
                seen[self.task_id] = exc
                raise

        monkeypatch.setattr(cls, "execute", execute)
    return seen


def test_every_pinning_probe_is_refused_before_sending(world, use_conn, probes_dag, errors):
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Reader", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    own = world.emu.enable_easy_auth(world.site)
    other = world.emu.add_site(world.subscription_id, world.resource_group, "other")
    other_api = world.emu.enable_easy_auth(other)
    mark = len(world.emu.requests)

    run = probes_dag.test(
        run_conf={
            "own_host": world.site.default_host_name,
            "other_host": other.default_host_name,
            "own_audience": f"api://{own.client_id}",
            "other_audience": f"api://{other_api.client_id}",
        }
    )

    probes = [f"audience_{n}" for n in {**FLOOR, **ALLOW_RULE}] + list(OTHERS) + ["health_absolute_url"]
    assert len(probes) >= 17
    assert task_states(run) == dict.fromkeys(probes, "failed")
    kinds = {task: type(exc).__name__ for task, exc in errors.items()}
    assert kinds == dict.fromkeys(probes, "TaskArgumentError"), kinds
    named = {task: exc.argument for task, exc in errors.items()}  # type: ignore[attr-defined]
    for name in {**FLOOR, **ALLOW_RULE}:
        assert named[f"audience_{name}"] == "audience", (name, errors[f"audience_{name}"])
    assert {named[t] for t in ("header_host", "header_host_upper", "header_authorization")} == {"headers"}
    assert {named[t] for t in ("path_absolute_url", "path_scheme_relative")} == {"path"}
    assert named["health_absolute_url"] == "path"
    assert {named[t] for t in OTHERS if t.startswith("base_url")} == {"base_url"}
    assert (named["slot_dot_dot"], named["slot_encoded_dot_dot"], named["app_dot_dot"]) == ("slot", "slot", "app_name")
    assert "application id of Azure Resource Manager" in str(errors["audience_arm_app_id"])
    assert "allowed_audiences" in str(errors["audience_other_app"]), "the fix names the connection field"

    sent = world.emu.requests[mark:]
    assert not [r for r in sent if r.kind in ("app", "scm")], "no app or Kudu host was reached"
    assert not [r for r in sent if r.host == other.default_host_name]
    assert {r.audience for r in sent if r.bearer} <= {ARM}, "only ARM saw a token (the allow-rule's read)"
    assert world.emu.token_requests() == world.emu.token_requests(audience=ARM) <= 1, "no app token was requested"
    easy_auth_reads = [r for r in sent if r.kind == "arm" and r.path.endswith("/config/authsettingsV2")]
    assert len(easy_auth_reads) == len(ALLOW_RULE), "only the allow-rule probes read ARM; the floor needs no I/O"


def test_a_forged_audience_in_health_trigger_kwargs_gets_no_token(world, use_conn):
    """A trigger row rewritten in the database: its scope passes the floor and the allow-rule again
    in the triggerer (ARM re-read), so another app's or ARM's audience gets no token."""
    import time

    from airflow_provider_appservice.triggers.health import AppServiceHealthTrigger

    from .test_untrusted_state import run_once

    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Reader", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    world.emu.enable_easy_auth(world.site)
    other_api = world.emu.enable_easy_auth(world.emu.add_site(world.subscription_id, world.resource_group, "other"))
    host = world.site.default_host_name
    mark = len(world.emu.requests)
    events = {}
    for name, scope in {
        "other_app": f"api://{other_api.client_id}/.default",
        "arm_trailing_dot": "https://management.azure.com./.default",
    }.items():
        trigger = AppServiceHealthTrigger(
            azure_app_service_conn_id="azure_app_service_default",
            resource_group=world.resource_group,
            app_name="shop",
            path="/healthz",
            scope=scope,
            hosts=[host],
            base_url=f"https://{host}",
            required_consecutive=1,
            check={"expected_status": [200]},
            request_timeout=5,
            deadline=time.time() + 60,
            poll_interval=0.01,
        )
        events[name] = run_once(trigger)
    assert {n: (e["status"], e["error"]) for n, e in events.items()} == {
        "other_app": ("error", "TaskArgumentError"),
        "arm_trailing_dot": ("error", "TaskArgumentError"),
    }, events
    assert "allowed_audiences" in str(events["other_app"])
    sent = world.emu.requests[mark:]
    assert not [r for r in sent if r.kind == "app"], "no app host was probed"
    assert world.emu.token_requests() == world.emu.token_requests(audience=ARM), "no app token was requested"
