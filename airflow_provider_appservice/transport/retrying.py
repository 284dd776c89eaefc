"""tenacity, configured once: exponential backoff with full jitter, Retry-After as a floor, a deadline.

Used for SCM/app calls, for re-sending a non-idempotent ARM call that Azure proved it did
not apply (429/503 before execution), and for semantic waits. The decisions come from
:mod:`backoff` (no I/O); clock and sleep are injected so tests never really sleep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import tenacity

from airflow_provider_appservice.boundary import status_of
from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.transport.backoff import Backoff, parse_retry_after

log = logging.getLogger(__name__)


def retry_after_of(exc: BaseException | None) -> float | None:
    """The wait an HTTP error asked for (azure-core errors keep the response)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return parse_retry_after(headers) if headers is not None else None


class _Wait(tenacity.wait.wait_base):
    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        return self.backoff.wait(retry_state.attempt_number - 1, retry_after_of(exc))


class _StopAtDeadline(tenacity.stop.stop_base):
    """Stop when the next wait would cross the deadline, or after ``max_attempts``.

    tenacity (>= 8.3) computes the wait before asking ``stop``, so the wait actually chosen —
    the backoff's own or a longer Retry-After — is what must fit before the deadline.
    """

    def __init__(self, backoff: Backoff, clock: Clock, max_attempts: int) -> None:
        self.backoff = backoff
        self.clock = clock
        self.max_attempts = max_attempts
        self.started = clock.now()

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.max_attempts:
            return True
        next_wait = max(retry_state.upcoming_sleep, 0.0)
        return not self.backoff.fits(self.clock.now() - self.started, next_wait)


def retrying(
    what: str,
    *,
    retry_on: Callable[[BaseException], bool],
    backoff: Backoff,
    max_attempts: int,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> tenacity.Retrying:
    """A ``tenacity.Retrying`` for one call site; the log says why and how long it waits."""
    clock = clock or default_clock()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = status_of(exc)
        reason = f"HTTP {status}" if status else type(exc).__name__
        wait = state.next_action.sleep if state.next_action else 0
        logger.warning(
            "%s: %s, retrying in %.1fs (attempt %d of %d)", what, reason, wait, state.attempt_number + 1, max_attempts
        )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry_on),
        wait=_Wait(backoff),
        stop=_StopAtDeadline(backoff, clock, max_attempts),
        sleep=clock.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
