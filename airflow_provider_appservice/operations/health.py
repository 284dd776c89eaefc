"""Health gating without I/O: is this answer healthy, and have we seen enough good ones in a row?

The worker's sensor and the triggerer's trigger both drive these objects; only the HTTP call
differs. A redirect is never healthy (App Service's Easy Auth answers an anonymous browser
with a 302 to the login page, which must not pass for a live app).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

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
