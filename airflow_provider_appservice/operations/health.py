"""Health gating without I/O: is this answer healthy, and have we seen enough good ones in a row?

:class:`HealthWait` is the whole wait (the gate, the deadline, the pacing); the worker's sensor
feeds it one probe per poke (:func:`probe_into`), the triggerer runs :func:`await_healthy`
(``waits.adrive``) and TaskFlow code may run :func:`wait_until_healthy` (``waits.drive``): only
the HTTP call differs. A redirect is never healthy (App Service's Easy Auth answers an anonymous
browser with a 302 to the login page, which must not pass for a live app).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.operations.waits import PollingWait, WaitOutcome, adrive, drive

log = logging.getLogger(__name__)

_MISSING = object()


def json_path_get(document: Any, path: str) -> Any:
    """Follow a dotted path (``checks.db.status``, list indexes as numbers); _MISSING if absent."""
    node = document
    for part in [p for p in path.split(".") if p]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def check_streak(value: object, argument: str = "required_consecutive") -> int:
    """Good answers in a row a gate needs: a whole number of at least 1 (0 would pass the gate
    on a 503 without one good answer). Refused before any call."""
    from airflow_provider_appservice.errors import TaskArgumentError

    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TaskArgumentError(
            argument, f"is {str(value)[:40]!r}", "give a whole number of 1 or more: 0 would pass without a good answer"
        )
    return value


def check_regex(pattern: object, argument: str = "regex") -> str:
    """A body pattern, compiled before any probe (a broken one would fail every probe as unhealthy)."""
    from airflow_provider_appservice.errors import TaskArgumentError

    try:
        re.compile(str(pattern))
    except re.error as exc:
        raise TaskArgumentError(argument, f"is not a regular expression ({exc})", "fix the pattern") from None
    return str(pattern)


def check_statuses(value: object, argument: str = "expected_status") -> tuple[int, ...]:
    """HTTP statuses that count as healthy: a non-empty list of 1xx-5xx numbers, redirects excluded
    (a redirect, e.g. to a login page, is never healthy)."""
    from airflow_provider_appservice.errors import TaskArgumentError

    statuses = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else ()
    if not statuses or any(isinstance(s, bool) or not isinstance(s, int) or not 100 <= s < 600 for s in statuses):
        raise TaskArgumentError(argument, f"is {str(value)[:60]!r}", "give HTTP statuses, e.g. [200] or [200, 204]")
    if any(300 <= s < 400 for s in statuses):
        raise TaskArgumentError(argument, "lists a redirect status", "drop it: a redirect is never healthy")
    return statuses


@dataclass(frozen=True)
class HealthCheck:
    """What a healthy answer looks like: a status and, optionally, content.

    :param expected_status: statuses that count as healthy (default 200).
    :param json_path: a dotted path into a JSON body; with ``equals`` or ``contains`` it checks
        that value, alone it only requires the path to exist.
    :param equals: the value at ``json_path`` must equal this.
    :param contains: the body (or the value at ``json_path``) must contain this text.
    :param regex: the body must match this regular expression (``re.search``).
    """

    expected_status: tuple[int, ...] = (200,)
    json_path: str | None = None
    equals: Any = None
    contains: str | None = None
    regex: str | None = None

    def judge(self, status: int, body: str) -> tuple[bool, str]:
        """(healthy?, why) for one answer."""
        if 300 <= status < 400:
            return False, f"redirect (HTTP {status}), e.g. to a login page: never healthy"
        if status not in self.expected_status:
            return False, f"HTTP {status}"
        subject: Any = body
        if self.json_path:
            try:
                document = json.loads(body)
            except ValueError:
                return False, "body is not JSON"
            subject = json_path_get(document, self.json_path)
            if subject is _MISSING:
                return False, f"no '{self.json_path}' in the body"
            if self.equals is not None and subject != self.equals:
                return False, f"{self.json_path} is {subject!r}, not {self.equals!r}"
        if self.contains is not None and self.contains not in (
            subject if isinstance(subject, str) else json.dumps(subject)
        ):
            return False, f"does not contain {self.contains!r}"
        if self.regex is not None and not re.search(self.regex, body):
            return False, f"does not match /{self.regex}/"
        return True, f"HTTP {status}"


def check_from_kwargs(raw: object, argument: str = "check") -> HealthCheck:
    """A :class:`HealthCheck` rebuilt from stored trigger kwargs (untrusted): known fields only,
    real statuses, text where text belongs and a regex that compiles."""
    from airflow_provider_appservice.errors import TaskArgumentError

    fields = ("expected_status", "json_path", "equals", "contains", "regex")
    if not isinstance(raw, dict) or set(raw) - set(fields):
        raise TaskArgumentError(argument, f"is not a health check ({str(raw)[:80]!r})", f"use the keys {fields}")
    for name in ("json_path", "contains", "regex"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise TaskArgumentError(argument, f"has a non-text {name}", "use text")
    try:
        re.compile(raw.get("regex") or "")
    except re.error:
        raise TaskArgumentError(argument, "has a regex that does not compile", "fix the regex") from None
    statuses = check_statuses(raw.get("expected_status", [200]), f"{argument}['expected_status']")
    return HealthCheck(**{**raw, "expected_status": statuses})


@dataclass
class HealthGate:
    """N consecutive healthy answers pass the gate; any bad answer resets the count."""

    required: int = 3
    streak: int = 0
    probes: int = 0
    history: list[str] = field(default_factory=list)

    def observe(self, healthy: bool, why: str) -> bool:
        self.probes += 1
        self.streak = self.streak + 1 if healthy else 0
        self.history = [*self.history[-9:], why]
        return self.streak >= self.required

    @property
    def passed(self) -> bool:
        return self.streak >= self.required


@dataclass(frozen=True)
class Probe:
    healthy: bool
    why: str
    status: int | None
    latency_ms: float


def probe(client: Any, path: str, check: HealthCheck, timeout: float) -> Probe:
    """One health request through a sync app pipeline; transport errors are unhealthy answers."""
    import time

    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    started = time.monotonic()
    try:
        response = client.send_request(
            HttpRequest("GET", client.format_url(path)), connection_timeout=min(timeout, 10), read_timeout=timeout
        )
        status, body = response.status_code, response.text()
    except AzureError as exc:
        return Probe(False, type(exc).__name__, None, (time.monotonic() - started) * 1000)
    healthy, why = check.judge(status, body)
    return Probe(healthy, why, status, (time.monotonic() - started) * 1000)


async def aprobe(client: Any, path: str, check: HealthCheck, timeout: float) -> Probe:
    """Async twin of :func:`probe`, for the trigger."""
    import time

    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    started = time.monotonic()
    try:
        response = await client.send_request(
            HttpRequest("GET", client.format_url(path)), connection_timeout=min(timeout, 10), read_timeout=timeout
        )
        await response.read()
        status, body = response.status_code, response.text()
    except AzureError as exc:
        return Probe(False, type(exc).__name__, None, (time.monotonic() - started) * 1000)
    healthy, why = check.judge(status, body)
    return Probe(healthy, why, status, (time.monotonic() - started) * 1000)


# -- the whole wait: the gate, its deadline and pacing ----------------------------------------------


def unhealthy_message(where: str, required: int, timeout: float, probes: int, history: Sequence[str]) -> str:
    """Why a gate did not pass in time, naming the last probes' outcomes (poke, trigger and task alike)."""
    last = "; ".join(list(history)[-5:]) or "none"
    return f"{where} was not healthy {required} time(s) in a row within {timeout:g}s ({probes} probes; last: {last})."


class HealthWait(PollingWait):
    """:class:`HealthGate` with a deadline: passes after ``required`` healthy answers in a row,
    times out at ``deadline`` with the probes' history. One bad answer never fails it (a flap
    resets the streak); a probe that cannot authenticate raises from the driver, not here.
    """

    def __init__(self, where: str, *, required: int, deadline: float, timeout: float, interval: float) -> None:
        if required < 1:
            raise ValueError("required_consecutive must be at least 1")
        super().__init__(deadline=deadline, timeout=timeout, interval=interval)
        self.where = where
        self.gate = HealthGate(required=required)

    def on_probe(self, result: Probe) -> str:
        """One probe's verdict; returns the log line for it."""
        self.counted()
        if self.gate.observe(result.healthy, result.why):
            self.succeed(f"{self.where} healthy {self.gate.streak} time(s) in a row after {self.gate.probes} probes")
        return (
            f"probe {self.gate.probes} of {self.where}: {result.why} in {result.latency_ms:.0f} ms "
            f"({self.gate.streak}/{self.gate.required} in a row)"
        )

    def timeout_message(self) -> str:
        return unhealthy_message(self.where, self.gate.required, self.timeout, self.gate.probes, self.gate.history)


def probe_into(client: Any, path: str, check: HealthCheck, timeout: float, wait: HealthWait, logger: Any = log) -> bool:
    """One probe through the sync app pipeline, fed to the wait (a sensor's poke); True once it passed."""
    logger.info("%s", wait.on_probe(probe(client, path, check, timeout)))
    return wait.outcome is not None and wait.outcome.succeeded


def wait_until_healthy(
    client: Any,
    path: str,
    check: HealthCheck,
    timeout: float,
    wait: HealthWait,
    *,
    clock: Clock | None = None,
    logger: Any = log,
) -> WaitOutcome:
    """Sync driver: probe until the wait decides (``wait.deadline`` in ``clock.now()``)."""
    return drive(wait, lambda: probe_into(client, path, check, timeout, wait, logger), clock)


async def await_healthy(
    client: Any,
    path: str,
    check: HealthCheck,
    timeout: float,
    wait: HealthWait,
    *,
    clock: Clock | None = None,
    logger: Any = log,
) -> WaitOutcome:
    """Async driver (the trigger's): the same wait through the async app pipeline;
    ``wait.deadline`` is epoch seconds (``clock.wall()``)."""

    async def look() -> None:
        logger.info("%s", wait.on_probe(await aprobe(client, path, check, timeout)))

    return await adrive(wait, look, clock)
