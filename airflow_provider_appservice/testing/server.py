"""The emulator's background thread: one asyncio loop running uvicorn (plain HTTP on a free
loopback port) and the CONNECT proxy (another free loopback port).

uvicorn is driven through ``Server.startup`` with pre-bound sockets, so the ports are known
before anything listens, and stopped by a short shutdown of our own (uvicorn's waits 100 ms
per tick, which would add up when many tests start emulators).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

try:  # httptools is faster (large uploads in later slices); h11 ships with every uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - depends on the installed extras
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol  # type: ignore[assignment]

from airflow_provider_appservice.testing.proxy import ConnectProxy, abort_hard

log = logging.getLogger(__name__)


def _bind_loopback() -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
    # proto says TCP; without it every keep-alive request waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    sock.setblocking(False)
    return sock


class _TrackedHttp(_BaseProtocol):
    """uvicorn's HTTP protocol, remembering each connection's transport by peer address so a
    "reset" fault can abort exactly the connection a request came on (ASGI offers no abort)."""

    registry: dict[tuple[str, int], asyncio.Transport] = {}

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.client is not None:
            self.registry[self.client] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client is not None:
            self.registry.pop(self.client, None)
        super().connection_lost(exc)


class ServerThread:
    def __init__(
        self,
        app_factory: Callable[[Callable[[Any], None]], Any],
        is_known: Callable[[str], bool],
        ssl_context_for: Callable[[str], Any],
        on_refused: Callable[[str, str], None],
    ) -> None:
        self._app_factory = app_factory
        self._is_known = is_known
        self._ssl_context_for = ssl_context_for
        self._on_refused = on_refused
        self._http_sock = _bind_loopback()
        self._proxy_sock = _bind_loopback()
        self.http_port: int = self._http_sock.getsockname()[1]
        self.proxy_port: int = self._proxy_sock.getsockname()[1]
        # One protocol subclass per emulator, so registries of two emulators never mix.
        self._protocol: type[_TrackedHttp] = type("TrackedHttp", (_TrackedHttp,), {"registry": {}})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="appservice-emulator", daemon=True)

    def start(self, timeout: float = 10) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the emulator did not start in time")
        if self._error is not None:
            raise RuntimeError("the emulator failed to start") from self._error

    def stop(self, timeout: float = 5) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("appservice emulator thread did not stop within %s s", timeout)

    def abort_connection(self, client: Any) -> None:
        transport = self._protocol.registry.get(tuple(client)) if client else None
        abort_hard(transport)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start() if it happens before ready
            self._error = exc
            self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    loop.run_until_complete(asyncio.wait(pending, timeout=1))
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        config = uvicorn.Config(
            self._app_factory(self.abort_connection),
            lifespan="off",
            log_level="warning",
            access_log=False,
            http=self._protocol,
            ws="none",
            timeout_keep_alive=120,
            server_header=False,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[self._http_sock])
        proxy = ConnectProxy(self.http_port, self._is_known, self._ssl_context_for, self._on_refused)
        await proxy.start(self._proxy_sock)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await proxy.stop()
            await self._shutdown(server)

    async def _shutdown(self, server: uvicorn.Server) -> None:
        for s in server.servers:
            s.close()
        for conn in list(server.server_state.connections):
            conn.shutdown()
        deadline = time.monotonic() + 1.0
        while server.server_state.tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for task in list(server.server_state.tasks):
            task.cancel()
        for transport in list(self._protocol.registry.values()):
            transport.abort()
        self._http_sock.close()
        self._proxy_sock.close()
