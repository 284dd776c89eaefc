"""Deployment packages: where they come from, what type they are, and how they are streamed.

A package is a file (sent as is), a folder (zipped on the fly into a private temporary file,
one file at a time, so memory does not grow with its size) or an ``https://`` URL (Kudu
fetches it: ``{"packageUri": ...}``). A blob SAS URL's ``sig`` is a secret: :func:`redact_url`
is what logs, errors and audit lines show, :func:`sas_secrets` what the operator masks.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_appservice.errors import PackageError, TaskArgumentError
from airflow_provider_appservice.operations.query_secrets import query_secrets, redact_query

log = logging.getLogger(__name__)

DEPLOY_TYPES = ("zip", "war", "jar", "ear", "static", "startup", "lib", "script")
_BY_EXTENSION = {
    ".zip": "zip",
    ".war": "war",
    ".jar": "jar",
    ".ear": "ear",
    ".sh": "startup",
    ".cmd": "startup",
    ".bat": "startup",
    ".ps1": "startup",
}
_NOT_ONEDEPLOY = (".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
# Query parameters of a URL that are secrets (a blob SAS signature).
SECRET_QUERY_KEYS = frozenset({"sig"})
# 64 KiB: below glibc's mmap threshold, so chunks reuse heap memory instead of faulting in fresh
# pages each time (1 MiB chunks measured ~25% slower through the proxy; benchmarks/deploy_memory.py).
CHUNK = 64 * 1024
PROGRESS_EVERY = 5.0  # seconds between progress lines


def is_url(package: str) -> bool:
    return package.strip().lower().startswith(("https://", "http://"))


def redact_url(url: str) -> str:
    """The URL with every SAS signature replaced by ``***`` (what logs may show)."""
    return redact_query(url, SECRET_QUERY_KEYS)


def sas_secrets(url: str) -> set[str]:
    """Every form a SAS ``sig`` of ``url`` can take in text: raw, decoded and %-encoded."""
    return query_secrets(url, SECRET_QUERY_KEYS)


def infer_type(name: str, *, is_folder: bool = False) -> str:
    """OneDeploy ``type`` from a file name or URL path; a folder is a zip."""
    if is_folder:
        return "zip"
    base = os.path.basename(urlsplit(name).path if is_url(name) else name).lower()
    ext = os.path.splitext(base)[1]
    if ext in _BY_EXTENSION:
        return _BY_EXTENSION[ext]
    if base.endswith(_NOT_ONEDEPLOY):
        raise PackageError(
            f"Cannot deploy '{base}': OneDeploy takes zip, war, jar or ear archives (or a single static "
            "file with type='static'). Repackage it as a zip."
        )
    return "static"


@dataclass(frozen=True)
class PackageSpec:
    """What to send: a local file (``path``, maybe a temporary zip) or a URL for Kudu to fetch.

    ``content`` is what a stored deployment is compared with on a rerun (same content: not
    deployed again): a file's sha256, a folder's tree digest (names and file digests, see
    :func:`.package_files.zip_folder`), or the sha256 of a URL without its SAS signature."""

    type: str
    path: str | None = None
    url: str | None = None
    size: int = 0
    temporary: bool = False
    target_path: str | None = None
    content: str = ""

    @property
    def shown(self) -> str:
        """What logs may say about the source (a URL without its SAS signature)."""
        return redact_url(self.url) if self.url else str(self.path)


def check_type(type_: Any) -> str | None:
    """The OneDeploy ``type`` argument (empty: infer it), refused before any call when unknown."""
    if type_ is None or (isinstance(type_, str) and not type_.strip()):
        return None
    if not isinstance(type_, str) or type_.strip().lower() not in DEPLOY_TYPES:
        raise TaskArgumentError("type", f"{type_!r} is not a OneDeploy type", f"use one of {', '.join(DEPLOY_TYPES)}")
    return type_.strip().lower()


def check_target_path(target_path: Any) -> None:
    """OneDeploy's ``path``: text without ``..`` segments, backslashes or control characters."""
    if target_path is None:
        return
    text = str(target_path)
    if ".." in text.split("/") or "\\" in text or any(ord(c) < 32 for c in text) or len(text) > 500:
        raise TaskArgumentError(
            "target_path",
            f"{text[:100]!r} may not leave the app's folder",
            "give a path below the app, like 'webapps/ROOT'",
        )


@contextlib.contextmanager
def prepare_package(
    package: str,
    type_: str | None,
    target_path: str | None,
    logger: logging.Logger | Any = log,
    *,
    package_root: str | None = None,
) -> Iterator[PackageSpec]:
    """Check ``package`` and resolve it to something to send, before any network call; a
    folder's temporary zip is removed afterwards (see :mod:`.package_files` for the refusals)."""
    from airflow_provider_appservice.operations.package_files import check_file, file_sha256, resolve_local

    package = str(package).strip() if package is not None else ""
    check_target_path(target_path)
    if not package:
        raise TaskArgumentError("package", "is empty", "give a file, a folder or an https:// URL")
    kind_given = check_type(type_)
    if is_url(package):
        if not package.lower().startswith("https://"):
            raise TaskArgumentError(
                "package",
                f"the URL {redact_url(package)} is not https",
                "give an https:// URL (Kudu fetches only https)",
            )
        if "@" in urlsplit(package).netloc:
            raise TaskArgumentError(
                "package", "the URL carries a user name or password", "use a blob SAS URL (its sig is masked)"
            )
        kind = kind_given or _infer(package)
        content = hashlib.sha256(redact_url(package).encode()).hexdigest()
        yield PackageSpec(kind, url=package, target_path=target_path, content=content)
        return
    path, st = resolve_local(package, package_root)
    if stat.S_ISDIR(st.st_mode):
        with _zipped(path, kind_given, target_path, logger) as spec:
            yield spec
        return
    kind = kind_given or _infer(path)
    check_file(path, package, kind, st.st_size)
    if kind == "static" and not target_path:
        target_path = os.path.basename(path)  # static deploys one file; name it after itself
    yield PackageSpec(kind, path=path, size=st.st_size, target_path=target_path, content=file_sha256(path))


def _infer(name: str) -> str:
    try:
        return infer_type(name)
    except PackageError as exc:
        raise TaskArgumentError("package", str(exc).rstrip("."), "give a zip, or set type") from None


@contextlib.contextmanager
def _zipped(folder: str, kind: str | None, target_path: str | None, logger: Any) -> Iterator[PackageSpec]:
    from airflow_provider_appservice.operations.package_files import zip_folder

    if (kind or "zip") != "zip":
        raise TaskArgumentError("type", f"{kind!r} needs a single file, but package is a folder", "use type='zip'")
    fd, tmp = tempfile.mkstemp(prefix="appservice-deploy-", suffix=".zip")  # 0600
    os.close(fd)
    try:
        size, content = zip_folder(folder, tmp, logger)
        yield PackageSpec("zip", path=tmp, size=size, temporary=True, target_path=target_path, content=content)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


class StreamingReader:
    """A file read in large chunks for an HTTP body: sha256 and progress as it goes.

    urllib3 calls ``read(blocksize)`` (16 KiB); this returns up to ``chunk`` bytes regardless,
    so there are fewer, larger writes. A helper thread reads and hashes the next
    chunks while the current one is being sent (``hashlib`` and ``ssl`` both release the GIL),
    so hashing costs no wall time; at most ``ahead + 2`` chunks exist at once. Progress
    (percent and MB/s) goes to the log every ``every`` seconds. ``rewind()`` starts over for a
    re-upload. ``check`` runs before every chunk and stops the upload by raising.
    """

    def __init__(
        self,
        path: str,
        *,
        chunk: int = CHUNK,
        ahead: int = 2,
        every: float = PROGRESS_EVERY,
        logger: logging.Logger | Any = log,
        clock: Callable[[], float] = time.monotonic,
        check: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.check = check  # called before each chunk: raises to stop the upload (orphan_guard)
        self.size = os.path.getsize(path)
        self.chunk = chunk
        self.ahead = ahead
        self.every = every
        self.logger = logger
        self.clock = clock
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self.rewind()

    def _produce(self, q: queue.Queue[bytes | BaseException], stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                data = self._f.read(self.chunk)
                if data:
                    self.sha256.update(data)
                q.put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reading side
            q.put(exc)

    def _stop_producer(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        while thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                thread.join(0.01)
        self._thread = None

    def rewind(self) -> None:
        self._stop_producer()
        self._f.seek(0)
        self.sent = 0
        self.sha256 = hashlib.sha256()
        self._queue = queue.Queue(maxsize=self.ahead)
        self._stop = threading.Event()
        self._done = False
        self.started = self.clock()
        self._last = self.started

    def __len__(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        if self.check is not None:
            self.check()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._produce, args=(self._queue, self._stop), name="package-reader", daemon=True
            )
            self._thread.start()
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        if not item:
            self._done = True
            return b""
        self.sent += len(item)
        now = self.clock()
        if now - self._last >= self.every:
            self._last = now
            self.log_progress(now)
        return item

    def log_progress(self, now: float | None = None) -> None:
        elapsed = max((now if now is not None else self.clock()) - self.started, 1e-9)
        pct = 100.0 * self.sent / self.size if self.size else 100.0
        self.logger.info(
            "Uploaded %.1f of %.1f MB (%.0f%%) at %.1f MB/s",
            self.sent / 1e6,
            self.size / 1e6,
            pct,
            self.sent / 1e6 / elapsed,
        )

    @property
    def checksum(self) -> str | None:
        """sha256 hex of what was sent, once all of it was."""
        return self.sha256.hexdigest() if self.sent == self.size else None

    def close(self) -> None:
        self._stop_producer()
        self._f.close()

    def __enter__(self) -> StreamingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
