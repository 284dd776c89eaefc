"""Fault injection: answer matching requests with an error, a reset or a delay.

Faults are checked in the order they were added; the first live match wins and uses up one of
its ``times`` (``None`` = forever). A fault with only ``delay`` slows the request down and then
lets the real route answer.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

MAX_DELAY = 30.0  # seconds; a bound so a forgotten fault cannot hang a test run


@dataclass(eq=False)
class Fault:
    status: int | None
    host: str | None
    path: re.Pattern[str] | None
    method: str | None
    kind: str | None
    times: int | None
    retry_after: float | str | None  # seconds, or a verbatim value such as an HTTP date
    retry_after_ms: int | None
    reset: bool
    delay: float
    body: bytes | str | dict | None
    apply_then_fail: bool = False  # run the real route first, then answer with the fault
    hits: int = 0
    _registry: FaultRegistry | None = field(default=None, repr=False)

    def remove(self) -> None:
        if self._registry is not None:
            self._registry.remove(self)

    def matches(self, host: str, path: str, method: str, kind: str) -> bool:
        return (
            (self.host is None or self.host.lower() == host)
            and (self.method is None or self.method.upper() == method)
            and (self.kind is None or self.kind == kind)
            and (self.path is None or self.path.search(path) is not None)
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.delay < 0 or fault.delay > MAX_DELAY:
            raise ValueError(f"delay must be between 0 and {MAX_DELAY} seconds")
        if fault.status is None and not fault.reset and not fault.delay:
            raise ValueError("a fault needs a status, reset=True or a delay")
        fault._registry = self
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, host: str, path: str, method: str, kind: str) -> Fault | None:
        """The first live fault matching this request, with its hit counted."""
        with self._lock:
            for fault in self._faults:
                if not fault.exhausted and fault.matches(host, path, method, kind):
                    fault.hits += 1
                    return fault
        return None
