"""The emulator's one ASGI app: picks a router by ``Host`` and wraps every request with what all
Azure routes share: request ids, fault injection and the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

from airflow_provider_appservice.testing.faults import Fault, FaultRegistry
from airflow_provider_appservice.testing.journal import Request as JournalEntry
from airflow_provider_appservice.testing.model import HostInfo
from airflow_provider_appservice.testing.responses import RequestNote
from airflow_provider_appservice.testing.state import World

Scope = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[MutableMapping[str, Any]], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
_TOKEN_PATH = re.compile(r"/oauth2/(v2\.0/)?token$")
_ARM_FAULT_CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
    409: "Conflict",
}


def classify(info: HostInfo | None, path: str) -> str:
    """The journal ``kind`` of a request, known before any route runs (faults match on it)."""
    if info is None:
        return "unknown"
    if info.kind == "entra":
        return "token" if _TOKEN_PATH.search(path) else "discovery"
    if info.kind == "local":
        if path.startswith("/msi/"):
            return "msi"
        if path.startswith("/metadata/identity/"):
            return "imds"
        return "local"
    return info.kind


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def fault_body(fault: Fault, kind: str) -> tuple[bytes, str]:
    """The error body for an injected status, in the style of the route it replaces."""
    status = fault.status or 500
    if fault.body is not None:
        if isinstance(fault.body, dict):
            return json.dumps(fault.body).encode(), "application/json; charset=utf-8"
        raw = fault.body.encode() if isinstance(fault.body, str) else fault.body
        return raw, "text/plain; charset=utf-8"
    message = f"Emulated fault: HTTP {status}."
    body: Any
    if kind in ("token", "discovery", "msi", "imds"):
        body = {"error": "temporarily_unavailable", "error_description": f"AADSTS50196: {message}"}
    elif kind in ("arm", "vault"):
        body = {"error": {"code": _ARM_FAULT_CODES.get(status, "EmulatedFault"), "message": message}}
    else:
        return message.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json; charset=utf-8"


class EmulatorApp:
    def __init__(
        self,
        world: World,
        faults: FaultRegistry,
        routers: dict[str, ASGIApp],
        abort_connection: Callable[[Any], None],
    ) -> None:
        self.world = world
        self.faults = faults
        self.routers = routers
        self.abort_connection = abort_connection

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        host = (_header(scope, b"host") or "").lower()
        host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        info = HostInfo("local", None) if host in LOCAL_HOSTS else self.world.resolve_host(host)
        path: str = scope["path"]
        method: str = scope["method"]
        n = RequestNote(kind=classify(info, path))
        token = _bearer(scope)
        if token is not None:
            n.bearer = True
            record = self.world.lookup_token(token)
            if record is not None:
                n.audience, n.client_id = record.aud, record.appid
        scope["emulator.note"] = n
        scope["emulator.host"] = info
        request_id = str(uuid.uuid4())
        client_request_id = _header(scope, b"x-ms-client-request-id")
        status = 0

        async def send_with_ids(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-ms-request-id", request_id.encode()))
                if client_request_id:
                    headers.append((b"x-ms-client-request-id", client_request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            fault = self.faults.take(host, path, method, n.kind)
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.apply_then_fail:
                await self._apply_then_fail(fault, info, scope, receive, send_with_ids, n.kind)
                return
            if fault is not None and fault.reset:
                self.abort_connection(scope.get("client"))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(_until_disconnect(receive), timeout=2)
                return
            if fault is not None and fault.status is not None:
                await self._send_fault(fault, n.kind, send_with_ids)
                return
            router = self.routers.get(info.kind) if info is not None else None
            if router is None:
                await _plain(send_with_ids, 404, b"The emulator does not serve this host.")
                return
            await router(scope, receive, send_with_ids)
        finally:
            self.world.journal.record(
                JournalEntry(
                    method=method,
                    host=host,
                    path=path,
                    status=status,
                    kind=n.kind,
                    audience=n.audience,
                    client_id=n.client_id,
                    bearer=n.bearer,
                    request_id=request_id,
                    time=self.world.now(),
                )
            )

    async def _apply_then_fail(
        self, fault: Fault, info: HostInfo | None, scope: Scope, receive: Receive, send: Send, kind: str
    ) -> None:
        """The route runs and its answer is thrown away; the client gets the fault instead."""
        router = self.routers.get(info.kind) if info is not None else None
        if router is not None:

            async def discard(message: MutableMapping[str, Any]) -> None:
                return None

            await router(scope, receive, discard)
        if fault.reset:
            self.abort_connection(scope.get("client"))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(_until_disconnect(receive), timeout=2)
            return
        await self._send_fault(fault, kind, send)

    async def _send_fault(self, fault: Fault, kind: str, send: Send) -> None:
        body, media_type = fault_body(fault, kind)
        headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
        if fault.retry_after is not None:
            value = fault.retry_after if isinstance(fault.retry_after, str) else _num(fault.retry_after)
            headers.append((b"retry-after", value.encode()))
        if fault.retry_after_ms is not None:
            headers.append((b"retry-after-ms", str(int(fault.retry_after_ms)).encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _bearer(scope: Scope) -> str | None:
    scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
