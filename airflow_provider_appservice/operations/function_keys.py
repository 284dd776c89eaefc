"""Function keys: secrets a function app takes in ``?code=`` or the ``x-functions-key`` header.

Airflow's name-based masking does not know them, so the operator masks every form this module
finds (raw, decoded, %-encoded) the moment it has a path, at render time included. The better
way is :func:`read_function_key`: the key is read at run time from the connection's own Key
Vault (``key_vault_url``, chosen by the connection's owner, never by the DAG) and sent only as
the ``x-functions-key`` header on the app pipeline, which is pinned to the app's hosts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from airflow_provider_appservice.errors import AppServiceError, ConnectionConfigError, TaskArgumentError
from airflow_provider_appservice.operations.query_secrets import MIN_SECRET, query_secrets, redact_query

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from airflow_provider_appservice.identity.config import IdentityConfig

FUNCTION_KEY_QUERY = frozenset({"code"})
FUNCTION_KEY_HEADER = "x-functions-key"
# Key Vault secret names: 1-127 letters, digits and hyphens (Key Vault's own rule).
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")


def function_key_secrets(path: Any, headers: Mapping[str, Any] | None = None) -> set[str]:
    """The function keys a path's ``code=`` and a caller's ``x-functions-key`` header carry."""
    found = query_secrets(path, FUNCTION_KEY_QUERY) if isinstance(path, str) else set()
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(name, str) and name.strip().lower() == FUNCTION_KEY_HEADER and isinstance(value, str):
                found.update(v for v in (value, value.strip()) if len(v) >= MIN_SECRET)
    return found


def redact_path(path: str) -> str:
    """The path as logs, audit lines and errors may show it: ``code=***``."""
    return redact_query(path, FUNCTION_KEY_QUERY)


def has_function_key(path: str, headers: Mapping[str, str] | None) -> bool:
    """Whether the caller already sends a function key (in the path or a header)."""
    in_path = any(k.lower() in FUNCTION_KEY_QUERY for k, _ in parse_qsl(urlsplit(path).query, True))
    in_headers = any(str(n).strip().lower() == FUNCTION_KEY_HEADER for n in (headers or {}))
    return in_path or in_headers


def check_secret_name(name: object, argument: str = "function_key_secret_name") -> str:
    """A Key Vault secret name, checked before anything is sent (it becomes a URL path)."""
    if not isinstance(name, str) or not _SECRET_NAME.match(name):
        raise TaskArgumentError(
            argument,
            f"{str(name)[:80]!r} is not a Key Vault secret name",
            "use the secret's name (1-127 letters, digits and hyphens) in the connection's key_vault_url vault",
        )
    return name


def vault_url(identity: IdentityConfig) -> str:
    """The connection's vault, parsed strictly (a DAG never chooses where a vault token goes)."""
    from airflow_provider_appservice.identity.config import validate_key_vault_url

    if not identity.key_vault_url:
        raise ConnectionConfigError(
            "key_vault_url",
            f"is empty, and function_key_secret_name reads the key from the connection's vault "
            f"(connection '{identity.conn_id}')",
            "ask the connection's owner to set key_vault_url to the vault that holds the function key",
        )
    return validate_key_vault_url(str(identity.key_vault_url), identity.cloud)


def read_function_key(identity: IdentityConfig, credential: TokenCredential, secret_name: str) -> str:
    """Read the function key ``secret_name`` from the connection's vault with the connection's
    own identity, through a client whose vault token is pinned to that vault. The caller masks
    the value at once; it is never logged or put in an error."""
    from azure.core.exceptions import AzureError
    from azure.keyvault.secrets import SecretClient

    from airflow_provider_appservice.boundary import classify
    from airflow_provider_appservice.identity.keyvault import _client_kwargs

    name = check_secret_name(secret_name)
    url = vault_url(identity)
    hints = {
        401: f"grant the connection's identity the 'Key Vault Secrets User' role on {url}",
        403: f"grant the connection's identity the 'Key Vault Secrets User' role on {url}",
        404: f"check function_key_secret_name, or create the secret '{name}' in {url}",
    }
    try:
        with SecretClient(url, credential, **_client_kwargs(identity)) as client:
            secret = client.get_secret(name)
    except AzureError as exc:
        raise classify(
            f"Reading function key secret '{name}' from {url}",
            exc,
            hint=hints.get(getattr(exc, "status_code", None) or 0),
        ) from None
    value = (secret.value or "").strip()
    if len(value) < MIN_SECRET:
        raise AppServiceError(f"Function key secret '{name}' in {url} is empty or too short to be a function key")
    return value


def with_function_key(headers: Mapping[str, str] | None, key: str) -> dict[str, str]:
    """The request headers with the function key as ``x-functions-key``."""
    out = {k: v for k, v in (headers or {}).items() if str(k).strip().lower() != FUNCTION_KEY_HEADER}
    out[FUNCTION_KEY_HEADER] = key
    return out


def every_form(values: Iterable[str]) -> set[str]:
    """The raw and %-encoded forms of secrets read at run time (what a masker is given)."""
    return {form for v in values for form in (v, quote(v, safe=""), quote_plus(v)) if len(form) >= MIN_SECRET}
