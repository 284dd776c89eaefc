"""Which audiences an *app* token may be requested for.

An operator that calls app code must never hold a token app code could replay against
Azure itself, so the audiences of ARM, Microsoft Graph, Key Vault, Storage, the token
exchange and a few other first-party data planes are refused, in every cloud. What is left
is an app's own Easy Auth audience: ``api://<client-id or name>``, a bare client id, or an
Application ID URI on the app owner's domain.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from airflow_provider_appservice.errors import TaskArgumentError

# Hosts whose tokens act on Azure or Microsoft 365 itself (any scheme, any path, every cloud).
_POWERFUL_HOSTS = (
    "management.azure.com",
    "management.core.windows.net",
    "management.chinacloudapi.cn",
    "management.core.chinacloudapi.cn",
    "management.usgovcloudapi.net",
    "management.core.usgovcloudapi.net",
    "graph.microsoft.com",
    "graph.windows.net",
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
    "vault.azure.net",
    "vault.azure.cn",
    "vault.usgovcloudapi.net",
    "managedhsm.azure.net",
    "storage.azure.com",
    "database.windows.net",
    "servicebus.azure.net",
    "eventhubs.azure.net",
    "cosmos.azure.com",
    "cognitiveservices.azure.com",
)
_POWERFUL_SUFFIXES = (
    ".core.windows.net",  # storage accounts (blob, queue, table, file, dfs)
    ".core.chinacloudapi.cn",
    ".core.usgovcloudapi.net",
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".database.windows.net",
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def app_scope(audience: str) -> str:
    """Validate an app audience and return the scope to request (``<audience>/.default``)."""
    raw = (audience or "").strip()
    fix = "use the app's Easy Auth audience: api://<client-id> or its Application ID URI"
    if not raw:
        raise TaskArgumentError("audience", "is empty", fix)
    bare = raw[: -len("/.default")] if raw.endswith("/.default") else raw
    lowered = bare.lower().rstrip("/")
    if lowered.startswith("api://azureadtokenexchange"):
        raise TaskArgumentError("audience", "is the token-exchange audience, which is refused", fix)
    if _GUID.match(bare):
        return f"{bare}/.default"
    parts = urlsplit(lowered)
    if parts.scheme == "api" and parts.netloc:
        host = parts.netloc
    elif parts.scheme == "https" and parts.hostname:
        host = parts.hostname
    else:
        raise TaskArgumentError("audience", f"'{bare}' is not an api:// URI, https URI or client id", fix)
    if host in _POWERFUL_HOSTS or host.endswith(_POWERFUL_SUFFIXES):
        raise TaskArgumentError(
            "audience",
            f"'{bare}' is an Azure or Microsoft 365 audience ({host}); app code must never receive such a token",
            fix,
        )
    return f"{bare}/.default"
