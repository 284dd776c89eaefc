"""AppServiceStateSensor and AppServiceStateTrigger through dag.test() of real DAGs against the
emulator: a deferred wait for a state that never comes ends at the trigger's own deadline (on the
emulator's clock, so ten minutes of waiting cost milliseconds), and a misspelt ``target_state``
fails before any request."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.clock import use_clock
from airflow_provider_appservice.sensors.state import AppServiceStateSensor
from airflow_provider_appservice.testing.clock import EmulatorClock
from airflow_provider_appservice.triggers.state import AppServiceStateTrigger

from ..dags.state_deadlines import PARAMS
from ..support import REPO, load_dag, migrate_db, task_states

DAG_FILE = REPO / "tests" / "dags" / "state_deadlines.py"


@pytest.fixture(scope="module")
def dags():
    migrate_db()
    return {dag_id: load_dag(DAG_FILE, dag_id) for dag_id in ("state_wait_deferred", "state_wait_poked")}


@pytest.fixture
def clock(world):
    with use_clock(EmulatorClock(world.emu)) as c:
        yield c


@pytest.fixture
def errors(monkeypatch):
    """What the sensor raised, by task id (a spy around execute and execute_complete)."""
    seen: dict[str, str] = {}
    for name in ("execute", "execute_complete"):
        original = getattr(AppServiceStateSensor, name)

        def spy(self, *args, _original=original, **kwargs):
            try:
                return _original(self, *args, **kwargs)
            except Exception as exc:
                if type(exc).__name__ != "TaskDeferred":
                    seen[self.task_id] = f"{type(exc).__name__}: {exc}"
                raise

        monkeypatch.setattr(AppServiceStateSensor, name, spy)
    return seen


@pytest.fixture
def triggers(monkeypatch):
    """The kwargs of every state trigger the sensor deferred to, as Airflow stores them."""
    seen: list[dict] = []
    original = AppServiceStateTrigger.serialize

    def spy(self):
        out = original(self)
        seen.append(out[1])
        return out

    monkeypatch.setattr(AppServiceStateTrigger, "serialize", spy)
    return seen


def site_reads(emu) -> list:
    return [r for r in emu.requests if r.kind == "arm" and r.method == "GET" and r.path.endswith("/sites/shop")]


def test_a_deferred_wait_for_a_state_that_never_comes_ends_at_its_own_deadline(
    world, contributor, dags, clock, errors, triggers
):
    run = dags["state_wait_deferred"].test(run_conf=PARAMS)  # shop is Running; the DAG waits for Stopped
    assert task_states(run) == {"wait": "failed"}
    assert errors["wait"] == (
        "AirflowSensorTimeout: shop did not reach state 'Stopped' within 600s (21 reads; last state 'Running')"
    )
    (kwargs,) = {repr(k): k for k in triggers}.values()
    assert kwargs["deadline"] == pytest.approx(clock.epoch + 600) and kwargs["timeout"] == 600
    assert kwargs["target_state"] == "Stopped"
    # One poke in the worker, then a read every 30 s of the emulator's clock, the last on the
    # deadline: the trigger stopped itself at 600 s, not at Airflow's backstop (660 s and more).
    assert len(site_reads(world.emu)) == 1 + 21
    assert clock.t == pytest.approx(600)
    assert clock.sleeps == [30.0] * 20


def test_a_deferred_wait_ends_when_the_state_comes(world, contributor, dags, clock):
    world.emu.set_site_state(world.site, "Stopped")
    run = dags["state_wait_deferred"].test(run_conf={**PARAMS, "target_state": "stopped"})
    assert task_states(run) == {"wait": "success"}
    assert len(site_reads(world.emu)) == 1 and clock.sleeps == []


@pytest.mark.parametrize("dag_id", ["state_wait_deferred", "state_wait_poked"])
@pytest.mark.parametrize("misspelt", ["Runing", "Started"])
def test_a_misspelt_target_state_fails_before_any_request(world, contributor, dags, errors, dag_id, misspelt):
    run = dags[dag_id].test(run_conf={**PARAMS, "target_state": misspelt})
    assert task_states(run) == {"wait": "failed"}
    assert errors["wait"] == (
        f"TaskArgumentError: Argument 'target_state': '{misspelt}' is not an App Service state. "
        "Fix: use one of Running, Stopped"
    )
    assert world.emu.requests == [], "nothing was asked of Azure, not even a token"
