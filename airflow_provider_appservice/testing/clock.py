"""Clocks for tests and benchmarks: waits that cost no real time.

``FakeClock`` moves only when something sleeps on it; ``EmulatorClock`` also moves the
emulator's clock by the same amount, so a deployment paced in emulator seconds, a token's
expiry or a ``Retry-After`` of 15 s pass the moment the provider waits for them. Install one
for the provider with ``airflow_provider_appservice.clock.use_clock``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_provider_appservice.clock import Clock


class FakeClock(Clock):
    """Virtual time: ``sleeps`` records every wait asked for; nothing really sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.epoch = time.time() - start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.epoch + self.t

    def sleep(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.sleeps.append(seconds)
        self.t += seconds
        self._moved(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # still let the loop run everything else

    def _moved(self, seconds: float) -> None:
        """Subclasses move other clocks along."""


class EmulatorClock(FakeClock):
    """A FakeClock whose sleeps also advance the emulator (``AppServiceEmulator.advance``)."""

    def __init__(self, emulator: Any) -> None:
        super().__init__()
        self.emulator = emulator

    def _moved(self, seconds: float) -> None:
        self.emulator.advance(seconds)
