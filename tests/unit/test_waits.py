"""The sans-I/O waits (container readiness, swap preview, Key Vault references) and their drivers,
as tables: a script of answers in, the outcome, the number of looks and the waits out. No I/O:
the sync driver runs on a FakeClock, the async one on a fake sleep."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_appservice.errors import AppServiceError
from airflow_provider_appservice.operations.container import ContainerReadiness
from airflow_provider_appservice.operations.waits import (
    PollingWait,
    adrive,
    check_event,
    drive,
)
from airflow_provider_appservice.testing.clock import FakeClock
from airflow_provider_appservice.transport.backoff import PollSchedule

# -- the shared deadline and pacing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "timeout", "expected_waits"),
    [
        (1.0, 3.0, [0.0, 1.0, 1.0, 1.0]),  # first look at once, then every second, the last at the deadline
        (2.0, 3.0, [0.0, 2.0, 1.0]),  # the last wait is shortened to land on the deadline
        (5.0, 0.5, [0.0, 0.5]),
        (0.0, 1.0, None),  # interval 0: looks as fast as answers come (bounded by the deadline)
        (None, 10.0, [0.0, 2.0, 4.0, 4.0]),  # the growing PollSchedule
    ],
)
def test_polling_wait_paces_and_times_out_at_its_deadline(interval, timeout, expected_waits):
    clock = FakeClock()
    wait = PollingWait(deadline=timeout, timeout=timeout, interval=interval, schedule=PollSchedule())
    waits: list[float] = []
    while (pause := wait.next_wait(clock.now())) is not None:
        waits.append(pause)
        clock.sleep(pause)
        wait.counted()
        if len(waits) > 100:
            clock.t = timeout  # interval 0 on a fake clock never advances by itself
    assert wait.outcome is not None and wait.outcome.timed_out and not wait.outcome.succeeded
    assert wait.outcome.status == "timeout"
    if expected_waits is not None:
        assert waits == expected_waits
    assert clock.t == pytest.approx(timeout)


def test_a_finished_wait_asks_for_no_more_looks():
    wait = PollingWait(deadline=10, timeout=10, interval=1)
    wait.counted()
    wait.succeed("done")
    assert wait.next_wait(0) is None and wait.outcome.status == "success"
    wait.outcome = None
    wait.fail("no")
    assert wait.next_wait(0) is None and wait.outcome.status == "failed"


# -- container readiness ----------------------------------------------------------------------------

H, B = (True, "HTTP 200"), (False, "HTTP 503")


@pytest.mark.parametrize(
    ("answers", "required", "status", "looks"),
    [
        ([H, H, H], 3, "success", 3),
        ([H], 1, "success", 1),
        ([B, H, B, H, H], 2, "success", 5),  # a bad answer resets the streak
        ([H, B] * 20, 2, "timeout", 11),  # flapping never passes; 11 looks in 10 s at 1 s
        ([B] * 20, 1, "timeout", 11),  # crash-looping: only the deadline ends it
    ],
)
def test_container_readiness(answers, required, status, looks):
    clock = FakeClock()
    gate = ContainerReadiness(
        "shop/staging", "acr.io/shop:2", required=required, deadline=10.0, timeout=10.0, interval=1.0, state="Running"
    )
    script = iter(answers)
    outcome = drive(gate, lambda: gate.on_probe(*next(script)), clock)
    assert outcome.status == status and gate.polls == looks
    if status == "timeout":
        assert "did not serve within 10s" in outcome.message and "state 'Running'" in outcome.message
        assert "crash-loops" in outcome.message and clock.t == 10.0
    else:
        assert "serves acr.io/shop:2" in outcome.message


def test_container_readiness_refuses_a_gate_of_zero():
    with pytest.raises(ValueError, match="at least 1"):
        ContainerReadiness("a", "i", required=0, deadline=1, timeout=1, interval=1)


def test_the_async_driver_decides_like_the_sync_one():
    clock = FakeClock()  # wall() and asleep() move with its sleeps
    deadline = clock.wall() + 5.0
    gate = ContainerReadiness("a", "i", required=2, deadline=deadline, timeout=5.0, interval=1.0)
    script = iter([B, H, H])

    async def look() -> None:
        gate.on_probe(*next(script))

    outcome = asyncio.run(adrive(gate, look, clock))
    assert outcome.status == "success" and clock.sleeps == [1.0, 1.0]


# -- trigger events are checked, not trusted -------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (None, "not a mapping"),
        ("success", "not a mapping"),
        ({"status": "succeeded"}, "unknown status"),
        ({}, "unknown status"),
        ({"status": "success", "message": 3}, "message is not text"),
        ({"status": "success", "probes": "3"}, "'probes' has the wrong type"),
        ({"status": "success", "probes": True}, "'probes' has the wrong type"),
    ],
)
def test_check_event_refuses_malformed_events(event, problem):
    with pytest.raises(AppServiceError, match=problem):
        check_event(event, "test", {"probes": int})


def test_check_event_keeps_only_known_fields():
    checked = check_event({"status": "timeout", "message": "m", "probes": 2, "other": "x"}, "test", {"probes": int})
    assert checked == {"status": "timeout", "message": "m", "probes": 2}


# -- swap preview -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "status", "looks", "says"),
    [
        (["Production"], "success", 1, "preview pending"),
        ([None, None, "production"], "success", 3, "preview pending"),
        ([None, "qa"], "failed", 2, "targets 'qa'"),  # another swap or preview took the slot over
        ([None] * 20, "timeout", 6, "did not show on the source within 5s"),
    ],
)
def test_preview_wait(seen, status, looks, says):
    from airflow_provider_appservice.operations.swap_preview import PreviewWait
    from airflow_provider_appservice.operations.swap_state import SwapPair

    clock = FakeClock()
    wait = PreviewWait(SwapPair("rg", "shop", "staging", None), deadline=5.0, timeout=5.0, interval=1.0)
    script = iter(seen)
    outcome = drive(wait, lambda: wait.on_slot(next(script)), clock)
    assert (outcome.status, wait.polls) == (status, looks) and says in outcome.message


# -- Key Vault references -------------------------------------------------------------------------------


def _statuses(**by_name: str) -> dict:
    from airflow_provider_appservice.operations.key_vault_references import ReferenceStatus

    return {
        name: ReferenceStatus(status, "details" if status != "Resolved" else "") for name, status in by_name.items()
    }


@pytest.mark.parametrize(
    ("looks_answers", "watch", "status", "looks", "says"),
    [
        ([{"appsettings": _statuses(A="Resolved")}], {"appsettings": ["A"]}, "success", 1, "1 Key Vault reference"),
        (
            [
                {"appsettings": {}},
                {"appsettings": _statuses(A="Initialized")},
                {"appsettings": _statuses(A="Resolved")},
            ],
            {"appsettings": ["a"]},  # names match case-insensitively; unlisted counts as Initialized
            "success",
            3,
            "resolved",
        ),
        (
            [{"appsettings": _statuses(A="AccessToKeyVaultDenied", B="Resolved")}],
            {"appsettings": None},  # every reference the platform lists
            "failed",
            1,
            "A: AccessToKeyVaultDenied",
        ),
        (
            [{"appsettings": _statuses(A="Resolved"), "connectionstrings": _statuses(C="SecretNotFound")}],
            {"appsettings": ["A"], "connectionstrings": ["C"]},
            "failed",
            1,
            "connection string C: SecretNotFound",
        ),
        ([{"appsettings": _statuses(A="Initialized")}] * 20, {"appsettings": ["A"]}, "timeout", 4, "within 3s"),
        (  # a refused one among pending ones at the deadline: a failure, not a timeout (no retry helps)
            [{"appsettings": _statuses(A="Initialized", B="FetchTimedOut")}] * 3
            + [{"appsettings": _statuses(A="Initialized", B="VaultNotFound")}] * 20,
            {"appsettings": ["A", "B"]},
            "failed",
            4,
            "B: VaultNotFound",
        ),
    ],
)
def test_reference_wait(looks_answers, watch, status, looks, says):
    from airflow_provider_appservice.operations.key_vault_references import ReferenceWait, references_from_event

    clock = FakeClock()
    wait = ReferenceWait("shop", watch, deadline=3.0, timeout=3.0, interval=1.0)
    script = iter(looks_answers)
    outcome = drive(wait, lambda: wait.on_statuses(next(script)), clock)
    assert (outcome.status, wait.polls) == (status, looks) and says in outcome.message
    assert references_from_event(wait.to_event()) == wait.statuses  # what crosses the deferral


@pytest.mark.parametrize(
    "value",
    [None, [], {"secrets": {}}, {"appsettings": {"A": "Resolved"}}, {"appsettings": {"A": ["Resolved", 1]}}],
)
def test_reference_statuses_from_an_event_are_checked(value):
    from airflow_provider_appservice.operations.key_vault_references import references_from_event

    with pytest.raises(AppServiceError):
        references_from_event(value)
