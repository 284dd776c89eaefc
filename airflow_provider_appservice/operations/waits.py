"""Semantic waits without I/O, and the two thin drivers that run them.

A wait (is the new container serving? does the preview show on the source? have the Key Vault
references resolved?) is a small state object: the driver asks it how long to wait
(:meth:`PollingWait.next_wait`), sleeps that long, makes one request, feeds the answer to the
wait's own ``on_*`` method, and stops when :attr:`PollingWait.outcome` is set. The worker drives
it with :func:`drive` (the hook's :class:`~airflow_provider_appservice.clock.Clock`, monotonic
time), the triggerer with :func:`adrive` (the same clock's wall time and async sleep, because a
trigger's deadline is epoch seconds carried in its kwargs). So both decide alike.

:func:`check_event` is the one gate every ``execute_complete`` of these waits passes a trigger
event through: an event is data from the database, not something to trust.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import AppServiceError, from_event
from airflow_provider_appservice.transport.backoff import PollSchedule

SUCCESS, FAILED, TIMEOUT, ERROR = "success", "failed", "timeout", "error"
EVENT_STATUSES = frozenset({SUCCESS, FAILED, TIMEOUT, ERROR})


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait ended: succeeded, failed (the platform said no) or timed out."""

    succeeded: bool
    message: str
    timed_out: bool = False

    @property
    def status(self) -> str:
        return SUCCESS if self.succeeded else (TIMEOUT if self.timed_out else FAILED)


class PollingWait:
    """The deadline and pacing every wait shares; subclasses add the ``on_*`` answers.

    The first look goes at once; later ones after ``interval`` seconds (or the growing
    ``schedule`` when ``interval`` is None). The last wait is shortened so one look lands on the
    deadline; after that look a wait that is still open times out. ``deadline`` is in the
    driver's clock (monotonic in a worker, epoch seconds in a trigger).
    """

    def __init__(
        self,
        *,
        deadline: float,
        timeout: float,
        interval: float | None = None,
        schedule: PollSchedule | None = None,
    ) -> None:
        if interval is not None and interval < 0:
            raise ValueError("poll interval must be >= 0 seconds")
        self.deadline = deadline
        self.timeout = timeout
        self.interval = interval
        self.schedule = schedule or PollSchedule()
        self.polls = 0
        self.outcome: WaitOutcome | None = None

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def next_wait(self, now: float) -> float | None:
        """Seconds to wait before the next look; None when the wait is over (then :attr:`outcome` is set)."""
        if self.outcome is not None:
            return None
        if self.polls == 0:
            return 0.0
        remaining = self.deadline - now
        if remaining <= 0:
            self.outcome = self.deadline_outcome()
            return None
        wait = self.interval if self.interval is not None else self.schedule.interval(self.polls - 1)
        return min(wait, remaining)

    def counted(self) -> None:
        """Subclasses call this once per answer they are fed."""
        self.polls += 1

    def succeed(self, message: str) -> None:
        self.outcome = WaitOutcome(True, message)

    def fail(self, message: str) -> None:
        self.outcome = WaitOutcome(False, message)

    def deadline_outcome(self) -> WaitOutcome:
        """How the wait ends at its deadline: a timeout, unless a subclass knows better."""
        return WaitOutcome(False, self.timeout_message(), timed_out=True)

    def timeout_message(self) -> str:
        return f"did not finish within {self.timeout:g}s"


def drive(wait: PollingWait, look: Callable[[], Any], clock: Clock | None = None) -> WaitOutcome:
    """The worker's driver: sleep what the wait says, ``look()`` (one request, fed to the wait), repeat."""
    clock = clock or default_clock()
    while (pause := wait.next_wait(clock.now())) is not None:
        if pause > 0:
            clock.sleep(pause)
        look()
    assert wait.outcome is not None
    return wait.outcome


async def adrive(wait: PollingWait, look: Callable[[], Awaitable[Any]], clock: Clock | None = None) -> WaitOutcome:
    """The triggerer's driver: the same loop on the clock's wall time (a trigger's deadline is
    epoch seconds carried in its kwargs) and its async sleep."""
    clock = clock or default_clock()
    while (pause := wait.next_wait(clock.wall())) is not None:
        if pause > 0:
            await clock.asleep(pause)
        await look()
    assert wait.outcome is not None
    return wait.outcome


def outcome_event(outcome: WaitOutcome, **extra: Any) -> dict[str, Any]:
    """The trigger event of a finished wait (JSON-serialisable; names and statuses only)."""
    return {"status": outcome.status, "message": outcome.message, **extra}


def check_event(event: Any, what: str, fields: Mapping[str, type | tuple[type, ...]] | None = None) -> dict[str, Any]:
    """A trigger event as the operator may use it, or :class:`AppServiceError` naming what is wrong.

    ``status`` must be one of success/failed/timeout/error and ``message`` a string; each of
    ``fields`` present must have its type (absent ones read as None).
    """
    if not isinstance(event, Mapping):
        raise AppServiceError(f"The {what} trigger sent an event that is not a mapping ({type(event).__name__})")
    status = event.get("status")
    if status not in EVENT_STATUSES:
        raise AppServiceError(f"The {what} trigger sent an event with an unknown status {status!r}")
    message = event.get("message", "")
    if not isinstance(message, str):
        raise AppServiceError(f"The {what} trigger sent an event whose message is not text")
    if status == ERROR:  # the trigger classified it: raise the class the worker path raises
        raise from_event(event, f"the {what} trigger failed")
    checked: dict[str, Any] = {"status": status, "message": message}
    for name, kind in (fields or {}).items():
        value = event.get(name)
        wrong_bool = isinstance(value, bool) and bool not in _types(kind)  # True is an int to isinstance
        if value is not None and (not isinstance(value, kind) or wrong_bool):
            raise AppServiceError(f"The {what} trigger sent an event whose {name!r} has the wrong type")
        checked[name] = value
    return checked


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
