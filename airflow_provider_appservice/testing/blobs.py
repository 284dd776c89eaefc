"""A read-only Blob Storage host (``<account>.blob.core.windows.net``) serving packages that
tests seed with ``AppServiceEmulator.add_blob``, so a OneDeploy ``{"packageUri": ...}`` can be
fetched without leaving the emulator (Kudu reads it in-process; nothing dials out).

SAS checking is loose on purpose: ``sv`` and ``sig`` must be present and ``sig`` must be the one
the emulator handed out; ``se`` (expiry) is compared with the emulator's clock. Error bodies use
Storage's XML form with ``x-ms-error-code``; message texts are UNVERIFIED word for word. Bearer
(Entra) access to blobs is not modelled.
"""

from __future__ import annotations

import os
import secrets
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing.clouds import get_cloud
from airflow_provider_appservice.testing.model import HostInfo
from airflow_provider_appservice.testing.responses import host_info
from airflow_provider_appservice.testing.state import World

BLOB_SUFFIXES = {
    "public": "blob.core.windows.net",
    "china": "blob.core.chinacloudapi.cn",
    "usgovernment": "blob.core.usgovcloudapi.net",
}
SAS_VERSION = "2024-11-04"


@dataclass(frozen=True)
class Blob:
    host: str
    container: str
    name: str
    path: str  # on disk, 0600
    size: int
    sig: str | None  # None: anonymous read allowed (public container)


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def storage_error(status: int, code: str, message: str) -> Response:
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Error>'
        f"<Code>{code}</Code><Message>{message}\nRequestId:{uuid.uuid4()}\nTime:{when}</Message></Error>"
    )
    return Response(body, status, {"x-ms-error-code": code}, media_type="application/xml")


class BlobStore:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._blobs: dict[tuple[str, str, str], Blob] = {}

    def put(self, host: str, container: str, name: str, data: bytes, public: bool = False) -> Blob:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, f"blob-{uuid.uuid4().hex}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        blob = Blob(host.lower(), container, name, path, len(data), None if public else secrets.token_urlsafe(32))
        with self._lock:
            old = self._blobs.get((blob.host, container, name))
            self._blobs[(blob.host, container, name)] = blob
        if old is not None and os.path.exists(old.path):
            os.unlink(old.path)
        return blob

    def url(self, blob: Blob, now: float, expires_in: float) -> str:
        base = f"https://{blob.host}/{quote(blob.container)}/{quote(blob.name)}"
        if blob.sig is None:
            return base
        query = {
            "sv": SAS_VERSION,
            "st": _stamp(now - 300),
            "se": _stamp(now + expires_in),
            "sr": "b",
            "sp": "r",
            "sig": blob.sig,
        }
        return f"{base}?{urlencode(query)}"

    def find(self, host: str, path: str, query: str, now: float) -> tuple[Blob | None, Response | None]:
        """The blob a GET names, or the Storage error a real account would answer."""
        container, _, name = path.lstrip("/").partition("/")
        with self._lock:
            blob = self._blobs.get((host.lower(), container, name))
        if blob is None:
            return None, storage_error(404, "BlobNotFound", "The specified blob does not exist.")
        if blob.sig is None:
            return blob, None
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        if "sig" not in q or "sv" not in q:
            # Anonymous read of a private container: Storage answers 404, not 401/403.
            return None, storage_error(404, "ResourceNotFound", "The specified resource does not exist.")
        if q["sig"] != blob.sig:
            return None, storage_error(
                403,
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization header is "
                "formed correctly including the signature.",
            )
        expiry = q.get("se")
        if expiry:
            try:
                se = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            except ValueError:
                se = None
            if se is not None and se <= now:
                return None, storage_error(
                    403, "AuthenticationFailed", "Signed expiry time must be after the current time."
                )
        return blob, None


def router(world: World) -> Router:
    store = store_of(world)

    async def get_blob(request: Request) -> Response:
        host = request.headers.get("host", "").rsplit(":", 1)[0]
        assert host_info(request).kind == "blob"
        blob, error = store.find(host, request.url.path, request.url.query, world.now())
        if error is not None:
            return error
        assert blob is not None
        return FileResponse(
            blob.path,
            media_type="application/octet-stream",
            headers={"x-ms-blob-type": "BlockBlob", "x-ms-version": SAS_VERSION},
        )

    return Router(routes=[Route("/{path:path}", get_blob, methods=["GET", "HEAD"])])


_STORES: weakref.WeakKeyDictionary[World, BlobStore] = weakref.WeakKeyDictionary()


def store_of(world: World) -> BlobStore:
    """The world's blobs, kept beside it (``state.World`` stays as it is)."""
    with world.lock:
        store = _STORES.get(world)
        if store is None:
            store = _STORES[world] = BlobStore(world.data_dir)
        return store


def add_blob(
    world: World,
    account: str,
    container: str,
    name: str,
    data: bytes,
    cloud: str = "public",
    public: bool = False,
    expires_in: float = 3600,
) -> str:
    """Serve ``data`` at ``https://<account>.blob.<suffix>/<container>/<name>``; the URL carries a
    read SAS unless ``public``."""
    c = get_cloud(cloud)
    host = f"{account.lower()}.{BLOB_SUFFIXES[c.name]}"
    with world.lock:
        world._register_host(host, HostInfo("blob", c))
    store = store_of(world)
    blob = store.put(host, container, name, data, public)
    return store.url(blob, world.now(), expires_in)
