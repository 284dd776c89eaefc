"""The forward proxy every client reaches the emulated Azure through (``HTTPS_PROXY``).

Hand-written because no library here plays a *terminating* CONNECT proxy: for ``CONNECT
host:443`` naming a host the emulator serves it answers 200, then does the TLS handshake
itself (``StreamWriter.start_tls`` with a certificate for exactly that host) and pipes the
plain bytes to the uvicorn listener, Host header intact. Absolute-form ``GET http://host/...``
requests for known hosts (Linux Kudu poll URLs can be ``http://…:80``) are forwarded one per
connection. Anything else gets 403 and the proxy never dials out: its only upstream is the
emulator's own loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

CHUNK = 256 * 1024


def abort_hard(transport: asyncio.BaseTransport | None) -> None:
    """Close with a TCP RST (SO_LINGER 0), which is what a "connection reset" fault means."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


class ConnectProxy:
    def __init__(
        self,
        upstream_port: int,
        is_known: Callable[[str], bool],
        ssl_context_for: Callable[[str], ssl.SSLContext],
        on_refused: Callable[[str, str], None],
    ) -> None:
        self.upstream_port = upstream_port
        self.is_known = is_known
        self.ssl_context_for = ssl_context_for
        self.on_refused = on_refused
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._handle, sock=sock, limit=CHUNK)
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            abort_hard(w.transport)
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError, TimeoutError):
            abort_hard(writer.transport)
        except asyncio.CancelledError:
            abort_hard(writer.transport)
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        request_line, _, rest = head.partition(b"\r\n")
        parts = request_line.decode("latin-1").split(" ")
        if len(parts) != 3:
            await self._refuse(writer, "?", "?", 400)
            return
        method, target, version = parts
        if method.upper() == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]").lower()
            if port != "443" or not self.is_known(host):
                await self._refuse(writer, method, host or target)
                return
            raw_transport = writer.transport
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await asyncio.wait_for(writer.start_tls(self.ssl_context_for(host)), timeout=30)
            await self._pipe(reader, writer, b"", raw_transport)
            return
        if target.lower().startswith("http://"):
            url = urlsplit(target)
            host = (url.hostname or "").lower()
            if not self.is_known(host) or (url.port not in (None, 80)):
                await self._refuse(writer, method, host or target)
                return
            origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
            kept = [
                line
                for line in rest.split(b"\r\n")
                if line and not line.lower().startswith((b"proxy-", b"connection:", b"keep-alive:"))
            ]
            first = f"{method} {origin} {version}".encode("latin-1")
            new_head = b"\r\n".join([first, *kept, b"Connection: close"]) + b"\r\n\r\n"
            await self._pipe(reader, writer, new_head, writer.transport)
            return
        await self._refuse(writer, method, target)

    async def _refuse(self, writer: asyncio.StreamWriter, method: str, host: str, status: int = 403) -> None:
        self.on_refused(method, host)
        reason = b"Forbidden" if status == 403 else b"Bad Request"
        body = b"The emulator does not serve this host; it never connects anywhere else.\n"
        writer.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, reason, len(body), body)
        )
        await writer.drain()

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        first: bytes,
        raw_transport: asyncio.BaseTransport,
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port, limit=CHUNK)
        self._writers.add(up_writer)
        try:
            if first:
                up_writer.write(first)
            reset = False

            async def client_to_upstream() -> None:
                while data := await reader.read(CHUNK):
                    up_writer.write(data)
                    await up_writer.drain()

            async def upstream_to_client() -> None:
                nonlocal reset
                try:
                    while data := await up_reader.read(CHUNK):
                        writer.write(data)
                        await writer.drain()
                except ConnectionResetError:
                    reset = True  # the emulator reset this request on purpose: pass it on

            tasks = [asyncio.ensure_future(client_to_upstream()), asyncio.ensure_future(upstream_to_client())]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            if reset:
                abort_hard(raw_transport)
            else:
                with contextlib.suppress(ConnectionError, ssl.SSLError):
                    await writer.drain()
        finally:
            self._writers.discard(up_writer)
            if not up_writer.transport.is_closing():
                up_writer.close()
