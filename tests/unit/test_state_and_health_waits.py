"""The state wait and the health wait (sans-I/O) as tables: a script of answers in, the outcome,
the number of looks and the waits out. The sync driver runs on a FakeClock, the async one on the
same clock's wall time and sleep; no request is made."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_appservice.errors import AuthenticationFailed, TaskArgumentError
from airflow_provider_appservice.operations.health import HealthCheck, HealthWait, Probe, unhealthy_message
from airflow_provider_appservice.operations.state import ADMIN_STATES, StateWait, admin_state
from airflow_provider_appservice.operations.waits import adrive, drive
from airflow_provider_appservice.testing.clock import FakeClock

# -- target_state is refused before any call ------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "spelt"),
    [("Running", "Running"), ("running", "Running"), (" Stopped ", "Stopped"), ("STOPPED", "Stopped")],
)
def test_an_admin_state_is_spelt_as_arm_spells_it(given, spelt):
    assert admin_state(given) == spelt


@pytest.mark.parametrize("given", ["Runing", "Started", "Stop", "Unknown", "Healthy", "", None, 1])
def test_a_misspelt_target_state_is_refused(given):
    with pytest.raises(TaskArgumentError, match="Argument 'target_state'") as caught:
        admin_state(given)
    assert all(state in str(caught.value) for state in ADMIN_STATES)
    assert caught.value.argument == "target_state"


def test_a_state_wait_refuses_a_misspelt_target_when_it_is_made():
    with pytest.raises(TaskArgumentError):
        StateWait("shop", "Runnning", deadline=10, timeout=10, interval=1)


# -- the state wait ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "target", "status", "looks", "waits"),
    [
        (["Running"], "Running", "success", 1, []),
        (["running"], "Running", "success", 1, []),  # ARM's case is not a reason to wait
        (["Running", "Running", "Stopped"], "stopped", "success", 3, [2.0, 2.0]),
        (["Running"] * 10, "Stopped", "timeout", 6, [2.0] * 5),  # 10 s at 2 s: a look lands on the deadline
        (["Unknown"] * 10, "Running", "timeout", 6, [2.0] * 5),  # no state fails it early
    ],
)
def test_state_wait(states, target, status, looks, waits):
    clock = FakeClock()
    wait = StateWait("shop/staging", target, deadline=10.0, timeout=10.0, interval=2.0)
    script = iter(states)
    outcome = drive(wait, lambda: wait.on_state(next(script)), clock)
    assert (outcome.status, wait.polls, clock.sleeps) == (status, looks, waits)
    if status == "timeout":
        assert outcome.message == (
            f"shop/staging did not reach state '{wait.target_state}' within 10s "
            f"({looks} reads; last state '{states[looks - 1]}')"
        )
        assert clock.t == 10.0
    else:
        assert outcome.message == f"shop/staging is {states[-1]}"


def test_the_state_wait_says_what_each_read_saw():
    wait = StateWait("shop", "Stopped", deadline=10, timeout=10, interval=1)
    assert wait.on_state("Running") == "shop is Running, waiting for Stopped"
    assert wait.on_state("Stopped") == "shop is Stopped" and wait.outcome and wait.outcome.succeeded


def test_a_state_wait_past_its_deadline_reads_once_then_times_out():
    """A trigger resumed after its deadline (a triggerer restart) looks once, then stops."""
    clock = FakeClock(start=100.0)
    wait = StateWait("shop", "Running", deadline=50.0, timeout=30.0, interval=5.0)
    outcome = drive(wait, lambda: wait.on_state("Stopped"), clock)
    assert outcome.status == "timeout" and wait.polls == 1 and clock.sleeps == []


def test_the_async_state_driver_decides_like_the_sync_one():
    clock = FakeClock()
    wait = StateWait("shop", "Stopped", deadline=clock.wall() + 60, timeout=60, interval=15)
    script = iter(["Running", "Running", "Stopped"])

    async def look() -> None:
        wait.on_state(next(script))

    outcome = asyncio.run(adrive(wait, look, clock))
    assert outcome.status == "success" and clock.sleeps == [15.0, 15.0]


# -- the health wait --------------------------------------------------------------------------------


def answer(status: int, body: str = "ok") -> Probe:
    healthy, why = HealthCheck().judge(status, body)
    return Probe(healthy, why, status, 1.0)


OK, DOWN, LOGIN = answer(200), answer(503), answer(302)


@pytest.mark.parametrize(
    ("answers", "required", "status", "looks"),
    [
        ([OK, OK, OK], 3, "success", 3),
        ([DOWN, DOWN, OK, OK, OK], 3, "success", 5),
        ([OK, OK, DOWN, OK, OK, DOWN, OK, OK, OK], 3, "success", 9),  # two flaps reset the streak twice
        ([OK, DOWN] * 20, 2, "timeout", 11),  # a flapping path never passes
        ([LOGIN] * 20, 1, "timeout", 11),  # a login redirect is never healthy
        ([DOWN] * 20, 1, "timeout", 11),  # a crash-looping app: only the deadline ends it
    ],
)
def test_health_wait(answers, required, status, looks):
    clock = FakeClock()
    wait = HealthWait("shop/healthz", required=required, deadline=10.0, timeout=10.0, interval=1.0)
    script = iter(answers)
    outcome = drive(wait, lambda: wait.on_probe(next(script)), clock)
    assert (outcome.status, wait.polls, wait.gate.probes) == (status, looks, looks)
    if status == "timeout":
        last = [a.why for a in answers[:looks]][-5:]
        assert outcome.message == (
            f"shop/healthz was not healthy {required} time(s) in a row within 10s "
            f"({looks} probes; last: {'; '.join(last)})."
        )
        assert clock.t == 10.0
    else:
        assert outcome.message.startswith(f"shop/healthz healthy {required} time(s) in a row")


def test_a_login_redirect_is_named_in_the_timeout():
    clock = FakeClock()
    wait = HealthWait("shop/healthz", required=3, deadline=0.4, timeout=0.4, interval=0.02)
    outcome = drive(wait, lambda: wait.on_probe(LOGIN), clock)
    assert outcome.timed_out and "redirect (HTTP 302), e.g. to a login page: never healthy" in outcome.message


def test_the_health_wait_logs_each_probe():
    wait = HealthWait("shop/healthz", required=2, deadline=10, timeout=10, interval=1)
    assert wait.on_probe(DOWN) == "probe 1 of shop/healthz: HTTP 503 in 1 ms (0/2 in a row)"
    assert wait.on_probe(OK) == "probe 2 of shop/healthz: HTTP 200 in 1 ms (1/2 in a row)"


def test_a_health_wait_refuses_a_gate_of_zero():
    with pytest.raises(ValueError, match="at least 1"):
        HealthWait("a", required=0, deadline=1, timeout=1, interval=1)


def test_an_auth_failure_ends_the_wait_at_once_through_the_driver():
    """A probe that cannot get a token raises (the provider's class, not an unhealthy answer):
    neither driver swallows it, so the trigger reports it as an error event on the first look."""
    clock = FakeClock()
    wait = HealthWait("shop/healthz", required=3, deadline=10.0, timeout=10.0, interval=1.0)

    def look() -> None:
        raise AuthenticationFailed("Authentication failed for the connection's identity")

    with pytest.raises(AuthenticationFailed):
        drive(wait, look, clock)

    async def alook() -> None:
        look()

    with pytest.raises(AuthenticationFailed):
        asyncio.run(adrive(wait, alook, clock))
    assert clock.sleeps == [] and wait.outcome is None


def test_the_async_health_driver_decides_like_the_sync_one():
    clock = FakeClock()
    wait = HealthWait("shop/healthz", required=2, deadline=clock.wall() + 5.0, timeout=5.0, interval=1.0)
    script = iter([DOWN, OK, OK])

    async def look() -> None:
        wait.on_probe(next(script))

    outcome = asyncio.run(adrive(wait, look, clock))
    assert outcome.status == "success" and clock.sleeps == [1.0, 1.0]


def test_the_unhealthy_message_keeps_the_last_five_probes():
    history = [f"HTTP {500 + i}" for i in range(8)]
    assert unhealthy_message("shop/healthz", 3, 0.4, 8, history).endswith(
        "(8 probes; last: HTTP 503; HTTP 504; HTTP 505; HTTP 506; HTTP 507)."
    )
    assert "last: none" in unhealthy_message("shop/healthz", 3, 0.4, 0, [])
