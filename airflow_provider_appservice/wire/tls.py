"""Which CAs a connection trusts. TLS verification itself can never be turned off.

``ca_bundle`` adds CAs (corporate TLS inspection) to the default roots rather than
replacing them: requests and aiohttp both treat a CA file as the *only* roots, so the
two are combined once into a private file (no library offers "defaults plus one").
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from typing import Any

_lock = threading.Lock()


def resolve_verify(ca_bundle: str | None) -> str | bool:
    """Return the ``connection_verify`` value for azure-core: True, or a CA file path."""
    if not ca_bundle:
        return True
    import certifi

    with open(ca_bundle, "rb") as extra, open(certifi.where(), "rb") as roots:
        combined = roots.read().rstrip(b"\n") + b"\n" + extra.read()
    digest = hashlib.sha256(combined).hexdigest()[:24]
    folder = os.path.join(tempfile.gettempdir(), f"airflow-provider-appservice-ca-{os.getuid()}")
    path = os.path.join(folder, f"{digest}.pem")
    with _lock:
        if not os.path.exists(path):
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(combined)
            os.replace(tmp, path)
    return path


_contexts: dict[str, Any] = {}


def _ssl_context(cafile: str) -> Any:
    """One SSLContext per CA file for the whole process (contexts are not tied to a loop)."""
    import ssl

    with _lock:
        context = _contexts.get(cafile)
        if context is None:
            context = _contexts[cafile] = ssl.create_default_context(cafile=cafile)
        return context


def aiohttp_transport(ca_bundle: str | None, clock: Any = None) -> Any:
    """An azure-core aiohttp transport that reuses one SSLContext and its connections.

    Given a CA *path* as ``connection_verify``, azure-core's AioHttpTransport builds a new
    SSLContext for every request (loading the whole bundle) and aiohttp cannot pool
    connections across distinct contexts: measured here, 100 concurrent waits grew RSS by
    ~170 MiB that way. A session whose connector holds one cached context avoids both.
    Must be called inside the event loop that will use it. Its sleeps (azure-core retries and
    LRO polls) run on ``clock`` (``airflow_provider_appservice.clock``).
    """
    from airflow_provider_appservice.clock import default_clock
    from airflow_provider_appservice.wire.clocked import aiohttp_transport_class

    transport_class = aiohttp_transport_class()
    clock = clock or default_clock()
    verify = resolve_verify(ca_bundle)
    if verify is True:
        return transport_class(clock)
    import aiohttp

    # A triggerer multiplexes many waits over this one session: a few TLS connections carry
    # them all (each open connection holds ~256 KiB of TLS buffers). Status polls are short, so
    # 8 connections serve 1,000 waits polling every 5 s with room to spare
    # (benchmarks/concurrent_waits.py); requests beyond that queue briefly.
    connector = aiohttp.TCPConnector(ssl=_ssl_context(str(verify)), limit=8)
    session = aiohttp.ClientSession(connector=connector, trust_env=True)
    return transport_class(clock, session=session, session_owner=True)
