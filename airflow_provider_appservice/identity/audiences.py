"""Which audiences an *app* token may be requested for: an allow-rule with a hard floor.

An operator that calls app code must never hold a token app code could replay against Azure
itself. So an app-token audience is allowed only when it is one of the app's own Easy Auth
audiences (read from ARM at run time, ``authsettingsV2``) or listed exactly in the connection's
``allowed_audiences``; and the powerful audiences below are never allowed, by URI or by their
first-party application id, not even when a connection lists them. The floor is checked without
I/O (:func:`app_scope`, :func:`parse_allowed_audiences`); the allow-rule after ARM has said what
the app accepts (:func:`check_allowed`), before any token is asked for.

Audiences are compared canonically (:func:`canonical`): case-insensitive, without ``/.default``,
a trailing slash or a trailing dot on the host, so ``https://MANAGEMENT.azure.com./`` is ARM.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_appservice.errors import ConnectionConfigError, TaskArgumentError

# Hosts whose tokens act on Azure, Microsoft 365 or Azure DevOps (any path, every cloud).
POWERFUL_HOSTS = frozenset(
    {
        # Azure Resource Manager and the classic management resource (China/US Gov Kudu audience).
        "management.azure.com",
        "management.core.windows.net",
        "management.chinacloudapi.cn",
        "management.core.chinacloudapi.cn",
        "management.usgovcloudapi.net",
        "management.core.usgovcloudapi.net",
        "appservice.azure.com",  # the Kudu (SCM) audience az uses in the public cloud
        "graph.microsoft.com",
        "graph.windows.net",
        "graph.microsoft.us",
        "dod-graph.microsoft.us",
        "graph.chinacloudapi.cn",
        "microsoftgraph.chinacloudapi.cn",
        "vault.azure.net",
        "vault.azure.cn",
        "vault.usgovcloudapi.net",
        "managedhsm.azure.net",
        "managedhsm.azure.cn",
        "managedhsm.usgovcloudapi.net",
        "storage.azure.com",
        "datalake.azure.net",
        "database.windows.net",
        "database.chinacloudapi.cn",
        "database.usgovcloudapi.net",
        "ossrdbms-aad.database.windows.net",
        "servicebus.azure.net",
        "eventhubs.azure.net",
        "relay.azure.net",
        "eventgrid.azure.net",
        "cosmos.azure.com",
        "redis.azure.com",
        "containerregistry.azure.net",
        "cognitiveservices.azure.com",
        "ai.azure.com",
        "ml.azure.com",
        "search.azure.com",
        "api.loganalytics.io",
        "api.loganalytics.azure.com",
        "api.loganalytics.azure.cn",
        "api.loganalytics.us",
        "api.applicationinsights.io",
        "monitor.azure.com",
        "monitoring.azure.com",
        "metrics.monitor.azure.com",
        "kusto.kusto.windows.net",
        "help.kusto.windows.net",
        "analysis.windows.net",
        "api.powerbi.com",
        "api.fabric.microsoft.com",
        "dev.azuresynapse.net",
        "digitaltwins.azure.net",
        "attest.azure.net",
        "purview.azure.net",
        "batch.core.windows.net",
        "iothubs.azure.net",
        "signalr.azure.com",
        "webpubsub.azure.com",
        "dev.azure.com",
        "app.vssps.visualstudio.com",
        "outlook.office.com",
        "outlook.office365.com",
        "manage.office.com",
        "api.spaces.skype.com",
    }
)
POWERFUL_SUFFIXES = (
    ".core.windows.net",  # storage accounts, Batch
    ".core.chinacloudapi.cn",
    ".core.usgovcloudapi.net",
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".managedhsm.azure.net",
    ".database.windows.net",
    ".database.chinacloudapi.cn",
    ".database.usgovcloudapi.net",
    ".kusto.windows.net",
    ".kusto.chinacloudapi.cn",
    ".kusto.usgovcloudapi.net",
    ".kusto.fabric.microsoft.com",
    ".azurecr.io",
    ".azurecr.cn",
    ".azurecr.us",
    ".documents.azure.com",
    ".documents.azure.cn",
    ".documents.azure.us",
    ".servicebus.windows.net",
    ".servicebus.chinacloudapi.cn",
    ".servicebus.usgovcloudapi.net",
    ".redis.cache.windows.net",
    ".cognitiveservices.azure.com",
    ".openai.azure.com",
    ".eventgrid.azure.net",
    ".azconfig.io",
    ".azuresynapse.net",
    ".azuredatabricks.net",
    ".search.windows.net",
    ".azure-devices.net",
    ".visualstudio.com",
    ".sharepoint.com",
    ".dynamics.com",
)
# Application ids of first-party resources (Microsoft's "Verify first-party Microsoft
# applications in sign-in reports" and the resources' own docs); an audience may name them.
POWERFUL_APP_IDS = {
    "797f4846-ba00-4fd7-ba43-dac1f8f63013": "Azure Resource Manager (Windows Azure Service Management API)",
    "00000003-0000-0000-c000-000000000000": "Microsoft Graph",
    "00000002-0000-0000-c000-000000000000": "Azure AD Graph",
    "cfa8b339-82a2-471a-a3c9-0fc0be7a4093": "Azure Key Vault",
    "e406a681-f3d4-42a8-90b6-c2b029497af1": "Azure Storage",
    "499b84ac-1321-427f-aa17-267ca6975798": "Azure DevOps",
    "022907d3-0f1b-48f7-badc-1ba6abab6d66": "Azure SQL Database",
    "abfa0a7c-a6b6-4736-8310-5855508787cd": "Azure App Service",
    "ca7f3f0b-7d91-482c-8e09-c5d840d0eac5": "Log Analytics API",
    "2746ea77-4702-4b45-80ca-3c97e680e8b7": "Azure Data Explorer (Kusto)",
    "a232010e-820c-4083-83bb-3ace5fc29d0b": "Azure Cosmos DB",
    "80369ed6-5f11-4dd9-bef3-692475845e77": "Azure Event Hubs / Service Bus",
    "00000009-0000-0000-c000-000000000000": "Power BI Service",
    "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d": "Azure Databricks",
    "1ac05c7e-12d2-4605-bf9d-549d7041c6b3": "Azure Synapse Analytics",
    "4ac7d521-0382-477b-b0f8-7e1d95f85ca2": "Azure Analysis Services",
    "e9f49c6b-5ce5-44c8-925d-015017e9f7ad": "Azure Data Lake",
    "6dae42f8-4368-4678-94ff-3960e28e3630": "Azure Kubernetes Service AAD Server",
    "00000002-0000-0ff1-ce00-000000000000": "Office 365 Exchange Online",
    "00000003-0000-0ff1-ce00-000000000000": "Office 365 SharePoint Online",
    "00000004-0000-0ff1-ce00-000000000000": "Skype for Business Online",
    "c5393580-f805-4401-95e8-94b7a6ef2fc2": "Office 365 Management APIs",
    "00000007-0000-0000-c000-000000000000": "Dynamics CRM",
}
_GUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_FIX = "use the app's Easy Auth audience: api://<client-id>, its client id or its Application ID URI"


def canonical(audience: str) -> str:
    """The form audiences are compared in: lower case, no ``/.default``, trailing slash or host dot."""
    text = audience.strip().lower()
    text = text.removesuffix("/.default").rstrip("/")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rstrip('.')}{slash}{path}".rstrip("/")


def floor_refusal(audience: str) -> str | None:
    """Why ``audience`` may never carry an app token (malformed or powerful), or None."""
    if not audience.strip() or any(ord(c) < 0x21 or c in "\\%@" for c in audience.strip()):
        return f"{audience[:100]!r} is not an api:// URI, https URI or client id"
    text = canonical(audience)
    if text.startswith("api://azureadtokenexchange"):
        return f"'{audience}' is the token-exchange audience"
    if _GUID.match(text):
        name = POWERFUL_APP_IDS.get(text)
        return f"'{audience}' is the application id of {name}" if name else None
    parts = urlsplit(text)
    host = parts.netloc.rstrip(".")
    if parts.scheme not in ("api", "https") or not host or not _HOST.match(host.split(":", 1)[0]):
        return f"'{audience}' is not an api:// URI, https URI or client id"
    if parts.scheme == "api" and host in POWERFUL_APP_IDS:
        return f"'{audience}' names the application id of {POWERFUL_APP_IDS[host]}"
    host = host.split(":", 1)[0]
    if parts.scheme == "https" and (host in POWERFUL_HOSTS or host.endswith(POWERFUL_SUFFIXES)):
        return f"'{audience}' is an Azure, Microsoft 365 or Azure DevOps audience ({host})"
    return None


def app_scope(audience: str, argument: str = "audience") -> str:
    """The floor (no I/O): refuse a malformed or powerful audience; return the scope to request.
    ``argument`` is the task argument that carried it (the health sensor calls it ``auth``)."""
    raw = (audience or "").strip() if isinstance(audience, str) else audience
    if not isinstance(raw, str) or not raw:
        raise TaskArgumentError(argument, f"is {'empty' if raw == '' else type(raw).__name__}", _FIX)
    reason = floor_refusal(raw)
    if reason:
        raise TaskArgumentError(argument, f"{reason}; app code must never receive such a token", _FIX)
    bare = raw[: -len("/.default")] if raw.lower().endswith("/.default") else raw
    return f"{bare.rstrip('/')}/.default"


def parse_allowed_audiences(raw: Any) -> tuple[str, ...]:
    """The connection's ``allowed_audiences``: exact audiences, comma/newline separated or a JSON
    list; each must pass the floor (a powerful audience here is the connection owner's mistake)."""
    if raw in (None, "", []):
        return ()
    items = raw
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            items = json.loads(raw)
        except ValueError:
            raise ConnectionConfigError(
                "allowed_audiences", "starts like a JSON list but is not one", 'use ["api://a", "api://b"]'
            ) from None
    if isinstance(items, str):
        items = re.split(r"[,\n]", items)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConnectionConfigError("allowed_audiences", "is not text or a list of text", "list audiences as text")
    audiences = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        reason = floor_refusal(item)
        if reason:
            raise ConnectionConfigError(
                "allowed_audiences",
                f"{reason}, which is never allowed for an app token",
                "remove it; list only audiences of your own apps (api://<client-id> or an Application ID URI)",
            )
        audiences.append(canonical(item))
    return tuple(dict.fromkeys(audiences))


def easy_auth_audiences(client_id: str | None, allowed: Iterable[str] | None) -> frozenset[str]:
    """The audiences an app's Easy Auth accepts (``authsettingsV2``): its registration's client id
    in both spellings Entra puts in ``aud``, and ``validation.allowedAudiences``."""
    found = {canonical(a) for a in (allowed or ()) if isinstance(a, str) and a.strip()}
    if client_id:
        found |= {canonical(client_id), canonical(f"api://{client_id}")}
    return frozenset(found)


def check_allowed(scope: str, app_audiences: Iterable[str], allowed_audiences: Iterable[str], conn_id: str) -> None:
    """The allow-rule, decided after ARM said what the app accepts and before any token request."""
    audience = canonical(scope)
    if audience in set(app_audiences) or audience in set(allowed_audiences):
        return
    known = ", ".join(sorted(app_audiences)) or "none: Easy Auth is off or has no Entra provider"
    raise TaskArgumentError(
        "audience",
        f"'{scope.removesuffix('/.default')}' is neither one of the app's Easy Auth audiences ({known}) "
        f"nor in the connection's allowed_audiences",
        f"use one of the app's audiences, or ask the owner of connection '{conn_id}' to add it to allowed_audiences",
    )
