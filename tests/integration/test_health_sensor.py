"""AppServiceHealthSensor and AppServiceHealthTrigger through dag.test() of real DAGs against the
emulator's scripted health paths: streaks, flaps, login redirects, content checks, Easy Auth,
and the deferred path (dag.test runs the trigger inline). Pokes are 20 ms apart."""

from __future__ import annotations

import json

import pytest

from airflow_provider_appservice.sensors.health import AppServiceHealthSensor
from airflow_provider_appservice.testing import Health
from airflow_provider_appservice.triggers.health import AppServiceHealthTrigger

from ..dags.health_gates import PARAMS
from ..support import REPO, load_dag, migrate_db, task_states

DAG_FILE = REPO / "tests" / "dags" / "health_gates.py"
DAG_IDS = (
    "health_gate",
    "health_gate_short",
    "health_gate_json_short",
    "health_gate_deferred",
    "health_gate_deferred_short",
    "health_gate_refusals",
)


@pytest.fixture(scope="module")
def dags():
    migrate_db()
    return {dag_id: load_dag(DAG_FILE, dag_id) for dag_id in DAG_IDS}


def run_dag(dag, **conf):
    """dag.test() with every param given: dag.test keeps a run's conf in the DAG's params."""
    return dag.test(run_conf={**PARAMS, **conf})


@pytest.fixture
def reader(world, use_conn):
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Reader", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    return sp


@pytest.fixture
def errors(monkeypatch):
    """What the sensor raised, by task id (a spy around execute and execute_complete)."""
    seen: dict[str, str] = {}
    for name in ("execute", "execute_complete"):
        original = getattr(AppServiceHealthSensor, name)

        def spy(self, *args, _original=original, **kwargs):
            try:
                return _original(self, *args, **kwargs)
            except Exception as exc:
                if type(exc).__name__ != "TaskDeferred":
                    seen[self.task_id] = f"{type(exc).__name__}: {exc}"
                raise

        monkeypatch.setattr(AppServiceHealthSensor, name, spy)
    return seen


@pytest.fixture
def serialized(monkeypatch):
    """The kwargs of every health trigger the sensor deferred to, as Airflow stores them."""
    seen: list[tuple[str, dict]] = []
    original = AppServiceHealthTrigger.serialize

    def spy(self):
        out = original(self)
        seen.append(out)
        return out

    monkeypatch.setattr(AppServiceHealthTrigger, "serialize", spy)
    return seen


def probes(emu, site, path: str = "/healthz") -> list:
    return [r for r in emu.requests if r.kind == "app" and r.host == site.default_host_name and r.path == path]


def test_n_consecutive_good_answers_pass(world, reader, dags):
    world.emu.set_health(world.slot, "/healthz", Health.unhealthy(probes=2))
    run = run_dag(dags["health_gate"], slot="staging")
    assert task_states(run) == {"gate": "success"}
    assert [r.status for r in probes(world.emu, world.slot)] == [503, 503, 200, 200, 200]
    assert world.emu.health_probes(world.slot) == 5
    assert not probes(world.emu, world.site), "production was not probed"


def test_a_flap_resets_the_count(world, reader, dags):
    world.emu.set_health(world.site, "/healthz", Health.flapping("++-++-+++", repeat=False))
    run = run_dag(dags["health_gate"])
    assert task_states(run) == {"gate": "success"}
    assert len(probes(world.emu, world.site)) == 9, "two flaps reset the streak twice"


def test_a_login_redirect_is_never_healthy(world, reader, dags, errors):
    world.emu.enable_easy_auth(world.site, excluded_paths=(), anonymous_redirect="all")
    run = run_dag(dags["health_gate_short"])
    assert task_states(run) == {"gate": "failed"}
    seen = probes(world.emu, world.site)
    # Every probe got the login redirect (how many fit in 0.4 s depends on the machine).
    assert len(seen) >= 1 and {r.status for r in seen} == {302} and not any(r.bearer for r in seen)
    message = errors["gate"]
    assert message.startswith("AirflowSensorTimeout: shop/healthz was not healthy 3 time(s) in a row within 0.4s")
    assert "redirect (HTTP 302), e.g. to a login page: never healthy" in message


def test_a_return401_app_is_never_healthy_either(world, reader, dags, errors):
    world.emu.enable_easy_auth(world.site, excluded_paths=(), unauthenticated_action="Return401")
    run = run_dag(dags["health_gate_short"])
    assert task_states(run) == {"gate": "failed"}
    assert "last: HTTP 401" in errors["gate"]


def test_wrong_content_fails_a_json_check(world, reader, dags, errors):
    world.emu.set_health(world.site, "/healthz", Health.degraded())
    run = run_dag(dags["health_gate_json_short"])
    assert task_states(run) == {"gate": "failed"}
    assert {r.status for r in probes(world.emu, world.site)} == {200}
    assert "status is 'Degraded', not 'Healthy'" in errors["gate"]


def test_auth_probes_through_easy_auth_with_the_app_audience(world, reader, dags):
    api = world.emu.enable_easy_auth(world.site, excluded_paths=())
    world.emu.set_health(world.site, "/api/health", Health.unhealthy(probes=1))
    audience = f"api://{api.client_id}"
    run = run_dag(dags["health_gate"], path="/api/health", auth=audience)
    assert task_states(run) == {"gate": "success"}
    seen = probes(world.emu, world.site, "/api/health")
    assert [r.status for r in seen] == [503, 200, 200, 200]
    assert {r.audience for r in seen} == {audience}
    assert {r.host for r in world.emu.requests if r.audience == audience} == {world.site.default_host_name}
    assert world.emu.token_requests(audience=audience) == 1


def test_deferred_gate_runs_in_the_trigger(world, reader, dags, serialized):
    api = world.emu.enable_easy_auth(world.slot, excluded_paths=())
    world.emu.set_health(world.slot, "/healthz", Health.flapping("+-+++", repeat=False))
    audience = f"api://{api.client_id}"
    run = run_dag(dags["health_gate_deferred"], slot="staging", auth=audience)
    assert task_states(run) == {"gate": "success"}
    assert [r.status for r in probes(world.emu, world.slot)] == [200, 503, 200, 200, 200]
    assert {r.audience for r in probes(world.emu, world.slot)} == {audience}

    (classpath, kwargs), *_ = serialized
    text = json.dumps(kwargs)
    assert not [t for t in world.emu.issued_tokens() if t in text], "no token in the trigger's kwargs"
    assert kwargs["scope"] == f"{audience}/.default" and kwargs["hosts"] == [world.slot.default_host_name]
    trigger = AppServiceHealthTrigger(**json.loads(text))
    assert trigger.serialize() == (classpath, kwargs)
    assert classpath == "airflow_provider_appservice.triggers.health.AppServiceHealthTrigger"


def test_deferred_gate_times_out_with_the_probe_history(world, reader, dags, errors):
    world.emu.set_health(world.site, "/healthz", "unhealthy")
    run = run_dag(dags["health_gate_deferred_short"])
    assert task_states(run) == {"gate": "failed"}
    assert len(probes(world.emu, world.site)) >= 1  # how many fit in 0.4 s depends on the machine
    message = errors["gate"]
    assert message.startswith("AirflowSensorTimeout: shop/healthz was not healthy 3 time(s) in a row within 0.4s")
    assert "last: HTTP 503" in message


def test_a_crash_looping_container_fails_the_gate(world, reader, dags, errors):
    world.emu.set_runtime_behaviour(world.site, "crashloop")
    run = run_dag(dags["health_gate_short"])
    assert task_states(run) == {"gate": "failed"}
    assert {r.status for r in probes(world.emu, world.site)} == {503}


def test_bad_templated_values_fail_before_any_request(world, reader, dags, errors):
    """An absolute or scheme-relative health path (it would probe, and pass the gate on, another
    host) and templated timings that are not positive numbers: TaskArgumentError naming the
    argument, in the worker and when deferrable, with no request sent anywhere."""
    from ..dags.health_gates import REFUSALS

    other = world.emu.add_site(world.subscription_id, world.resource_group, "billing")
    before = len(world.emu.requests)
    run = run_dag(dags["health_gate_refusals"], other_host=other.default_host_name)
    assert task_states(run) == dict.fromkeys(REFUSALS, "failed")
    named = {
        "absolute_path": "'path'",
        "scheme_relative_path": "'path'",
        "zero_probe_interval": "'probe_interval'",
        "negative_gate_timeout": "'gate_timeout'",
        "text_probe_interval": "'probe_interval'",
        "deferred_absolute_path": "'path'",
    }
    for task_id, argument in named.items():
        assert errors[task_id].startswith(f"TaskArgumentError: Argument {argument}"), errors[task_id]
    assert world.emu.requests[before:] == [], "nothing was sent: not to ARM, not to any app"
