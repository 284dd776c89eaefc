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
