"""The one clock every wait runs on: tenacity's waits, status polling, azure-core's retry and
LRO-polling sleeps (through the transports, ``wire.clocked``) and the triggers' pauses.

The hook owns one (``AppServiceHook.clock``) and hands it to every client and operation it
serves. By default it is the process's :func:`default_clock`, which is the system's; a test
harness (``airflow_provider_appservice.testing.EmulatorClock``) installs another with
:func:`use_clock` so a "5-minute deployment" or a swap paced like Azure runs in
milliseconds. ``time-machine`` cannot do this: it does not move ``time.monotonic``, which
tenacity and asyncio use. Standard library only (a neutral module below ``identity/``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Clock:
    """Monotonic time for bounds, wall time for deadlines that cross processes, and sleep."""

    def now(self) -> float:
        """Monotonic seconds: how long something took, when a bound runs out."""
        return time.monotonic()

    def wall(self) -> float:
        """Epoch seconds: deadlines carried in trigger kwargs (another process reads them)."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


SYSTEM_CLOCK = Clock()
_current: Clock = SYSTEM_CLOCK


def default_clock() -> Clock:
    """The clock a new hook (and a credential's transport) gets: the system's unless replaced."""
    return _current


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Run with ``clock`` as the default (tests, benchmarks); the previous one comes back after."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous
