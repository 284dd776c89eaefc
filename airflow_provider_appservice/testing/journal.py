"""The request journal tests assert on.

It records who called what and how it was answered, never what was said: no bodies, no query
strings (a function key or SAS ``sig`` travels there), no headers, no tokens.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """One request the emulator saw (or refused at the proxy)."""

    method: str
    host: str
    path: str  # without the query string
    status: int  # 0 when the connection was reset on purpose
    kind: str  # token, discovery, msi, imds, arm, vault, app, scm, proxy-refused, ...
    audience: str | None = None  # aud of the bearer token the request carried (token requests: None)
    client_id: str | None = None  # appid of that bearer token
    bearer: bool = False  # whether an Authorization: Bearer header came with it
    request_id: str = ""
    time: float = 0.0  # emulator clock


@dataclass(frozen=True)
class Issue:
    """One token the emulator handed out."""

    audience: str
    client_id: str
    tenant_id: str
    via: str  # token, msi, imds


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._issues: list[Issue] = []

    def record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def record_issue(self, issue: Issue) -> None:
        with self._lock:
            self._issues.append(issue)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def token_requests(self, audience: str | None = None, client_id: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for i in self._issues
                if (audience is None or i.audience == audience) and (client_id is None or i.client_id == client_id)
            )

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._issues.clear()
