"""Backoff decisions without I/O: how long to wait next, and whether to stop.

The SCM/app retry layer and every semantic wait (409 busy, status polling, state waits)
use these with tenacity, in a worker (sync) and in the triggerer (async) alike, on the hook's
clock (``airflow_provider_appservice.clock``), so tests run a "5-minute deployment" in milliseconds.
``Retry-After`` is a minimum wait, never a reason to poll faster, and never shortened
by the cap (the cap bounds only our own backoff).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the service asked us to wait: ``retry-after-ms``, ``x-ms-retry-after-ms``, ``Retry-After``."""
    lower = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if name in lower:
            try:
                return max(0.0, float(lower[name]) / 1000.0)
            except ValueError:
                pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, a cap per wait and an overall deadline.

    ``initial * multiplier**attempt`` bounded by ``cap``; full jitter draws the wait
    uniformly from ``[0, that]`` (AWS architecture blog, "Exponential Backoff and
    Jitter"), then ``Retry-After`` raises it to at least what the service asked.
    """

    initial: float = 1.0
    multiplier: float = 2.0
    cap: float = 60.0
    deadline: float = 600.0
    jitter: bool = True

    def ceiling(self, attempt: int) -> float:
        """The largest wait before retry number ``attempt`` (0-based), before Retry-After."""
        return min(self.cap, self.initial * self.multiplier ** max(0, attempt))

    def wait(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        ceiling = self.ceiling(attempt)
        base = (rng or random).uniform(0, ceiling) if self.jitter else ceiling
        return max(base, retry_after or 0.0)

    def fits(self, elapsed: float, next_wait: float) -> bool:
        """Whether waiting ``next_wait`` more still ends before the deadline."""
        return elapsed + next_wait <= self.deadline


@dataclass(frozen=True)
class PollSchedule:
    """Status-polling intervals that grow to a ceiling: quick at first, cheap later.

    With the defaults a 5-minute wait costs 13 polls (after 2, 4, 8 and 16 s, then every 30 s),
    within the budget of 20 status requests. Retry-After is a floor.
    """

    first: float = 2.0
    factor: float = 2.0
    ceiling: float = 30.0

    def interval(self, poll: int, retry_after: float | None = None) -> float:
        return max(min(self.ceiling, self.first * self.factor ** max(0, poll)), retry_after or 0.0)
