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

from airflow_provider_appservice.transport.backoff import Backoff, Clock, parse_retry_after

log = logging.getLogger(__name__)


def retry_after_of(exc: BaseException | None) -> float | None:
    """The wait an HTTP error asked for (azure-core errors keep the response)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return parse_retry_after(headers) if headers is not None else None


def status_of(exc: BaseException | None) -> int | None:
    return getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)


# Whether a failed non-idempotent call may have been applied, judged from the error chain.
_NOT_SENT = frozenset({"NewConnectionError", "ConnectTimeoutError", "NameResolutionError", "ConnectionRefusedError"})
_CUT_OFF = frozenset(
    {"RemoteDisconnected", "ProtocolError", "ConnectionResetError", "BrokenPipeError", "ConnectionAbortedError"}
)


def error_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (azure-core ``inner_exception``, requests/urllib3 ``reason``)."""
    seen: dict[int, BaseException] = {}
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen[id(current)] = current
        stack.extend(
            [
                getattr(current, "inner_exception", None),
                getattr(current, "reason", None),
                current.__cause__,
                current.__context__,
                *current.args,
            ]
        )
    return list(seen.values())


def was_not_applied(exc: BaseException) -> bool:
    """True only when Azure certainly did not act on the POST: 429/503 (refused before execution)
    or a connection that was never made (refused, DNS, connect timeout).

    Stricter than "any ServiceRequestError": through an HTTPS proxy, urllib3 reports a connection
    cut *after* the request was sent as ``ProxyError('Unable to connect to proxy',
    RemoteDisconnected(...))``, which azure-core maps to ServiceRequestError — that one is ambiguous.
    """
    from azure.core.exceptions import ServiceRequestError

    if status_of(exc) in (429, 503):
        return True
    if not isinstance(exc, ServiceRequestError):
        return False
    names = {type(e).__name__ for e in error_chain(exc)}
    return not (names & _CUT_OFF) and bool(names & _NOT_SENT)


def is_ambiguous(exc: BaseException) -> bool:
    """The POST may have been applied before the failure (so it must not be sent blindly again)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if was_not_applied(exc):
        return False
    if isinstance(exc, (ServiceResponseError, ServiceRequestError)):
        return True
    return isinstance(exc, HttpResponseError) and status_of(exc) in (500, 502, 504)


class _Wait(tenacity.wait.wait_base):
    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        return self.backoff.wait(retry_state.attempt_number - 1, retry_after_of(exc))


class _StopAtDeadline(tenacity.stop.stop_base):
    """Stop when the next wait would cross the deadline, or after ``max_attempts``."""

    def __init__(self, backoff: Backoff, clock: Clock, max_attempts: int) -> None:
        self.backoff = backoff
        self.clock = clock
        self.max_attempts = max_attempts
        self.started = clock.now()

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.max_attempts:
            return True
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        next_wait = max(retry_after_of(exc) or 0.0, 0.0)
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
    clock = clock or Clock()

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
