"""The backoff maths: bounds, Retry-After as a floor, the polling budget."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_appservice.testing.clock import FakeClock
from airflow_provider_appservice.transport.backoff import Backoff, PollSchedule, parse_retry_after


@given(
    attempt=st.integers(min_value=0, max_value=60),
    retry_after=st.none() | st.floats(min_value=0, max_value=3600),
    seed=st.integers(),
)
def test_wait_is_within_ceiling_unless_service_asks_for_more(attempt, retry_after, seed):
    policy = Backoff(initial=0.5, multiplier=2, cap=30)
    wait = policy.wait(attempt, retry_after, random.Random(seed))
    assert wait >= (retry_after or 0.0), "Retry-After is a minimum"
    assert wait <= max(policy.ceiling(attempt), retry_after or 0.0)
    assert policy.ceiling(attempt) <= 30


@given(attempt=st.integers(min_value=0, max_value=40))
def test_ceiling_grows_monotonically_to_the_cap(attempt):
    policy = Backoff(initial=1, multiplier=2, cap=60)
    assert policy.ceiling(attempt) <= policy.ceiling(attempt + 1) <= 60


def test_without_jitter_the_schedule_is_exponential():
    policy = Backoff(initial=1, multiplier=2, cap=10, jitter=False)
    assert [policy.wait(a) for a in range(6)] == [1, 2, 4, 8, 10, 10]


def test_deadline():
    policy = Backoff(deadline=100)
    assert policy.fits(90, 10) and not policy.fits(90, 10.5)


@given(st.lists(st.none() | st.floats(min_value=0, max_value=5), min_size=1, max_size=200))
def test_five_minutes_of_polling_costs_at_most_twenty_requests(retry_afters):
    schedule = PollSchedule()
    clock = FakeClock()
    polls = 0
    while clock.now() < 300:
        polls += 1
        clock.sleep(schedule.interval(polls - 1, retry_afters[(polls - 1) % len(retry_afters)]))
    assert polls <= 20


def test_poll_interval_honours_retry_after_as_a_floor():
    schedule = PollSchedule(first=2, factor=2, ceiling=30)
    assert schedule.interval(0) == 2
    assert schedule.interval(10) == 30
    assert schedule.interval(0, retry_after=45) == 45


def test_parse_retry_after_forms():
    assert parse_retry_after({"Retry-After": "7"}) == 7
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"x-ms-retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert parse_retry_after({"Retry-After": "Sat, 21 Nov 2026 10:00:30 GMT"}, now=1795255200.0) == 30
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def _failing_calls(backoff: Backoff, clock: FakeClock, retry_after: str | None = None) -> int:
    """How many times a call that always fails is tried by ``retrying`` before it gives up."""
    import pytest

    from airflow_provider_appservice.transport.retrying import retrying

    class Refused(Exception):
        def __init__(self) -> None:
            super().__init__("refused")
            self.response = type("R", (), {"headers": {"Retry-After": retry_after} if retry_after else {}})()

    calls = 0
    with pytest.raises(Refused):
        for attempt in retrying("x", retry_on=lambda e: True, backoff=backoff, max_attempts=50, clock=clock):
            with attempt:
                calls += 1
                raise Refused()
    return calls


def test_the_deadline_counts_the_backoffs_own_next_wait():
    """A 5 s deadline and a first wait of 10 s: it gives up at once instead of sleeping 10 s."""
    clock = FakeClock()
    calls = _failing_calls(Backoff(initial=10, cap=60, deadline=5, jitter=False), clock)
    assert calls == 1 and clock.sleeps == []


def test_the_deadline_counts_a_retry_after_too_and_is_never_crossed():
    clock = FakeClock()
    calls = _failing_calls(Backoff(initial=1, cap=60, deadline=100, jitter=False), clock, retry_after="30")
    assert clock.sleeps == [30.0, 30.0, 30.0] and calls == 4 and clock.now() <= 100
