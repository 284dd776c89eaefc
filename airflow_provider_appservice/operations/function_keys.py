"""Function keys: secrets a function app takes in ``?code=`` or the ``x-functions-key`` header.

Airflow's name-based masking does not know them, so the operator masks every form this module
finds (raw, decoded, %-encoded) the moment it has a path, at render time included. The better
way is :func:`read_function_key`: the key is read at run time from the connection's own Key
Vault (``key_vault_url``, chosen by the connection's owner, never by the DAG) and sent only as
the ``x-functions-key`` header on the app pipeline, which is pinned to the app's hosts.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

from airflow_provider_appservice.errors import AppServiceError, ConnectionConfigError, TaskArgumentError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from airflow_provider_appservice.identity.config import IdentityConfig

FUNCTION_KEY_QUERY = frozenset({"code"})
FUNCTION_KEY_HEADER = "x-functions-key"
# Key Vault secret names: 1-127 letters, digits and hyphens (Key Vault's own rule).
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_MIN_SECRET = 4  # shorter values would mask common words; no real key is this short


def query_secrets(url: str, keys: Collection[str]) -> set[str]:
    """Every form the values of the query parameters ``keys`` take in text: raw, decoded and
    %-encoded, so a masker catches each. Works on a full URL or on a path with a query."""
    found: set[str] = set()
    query = urlsplit(url).query if "?" in url else ""
    for raw in query.split("&"):
        key, _, value = raw.partition("=")
        if unquote(key).lower() not in keys or not value:
            continue
        for form in {value, unquote(value), unquote(value.replace("+", " "))}:
            found.update({form, quote(form, safe=""), quote_plus(form), quote(form)})
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key.lower() in keys and value:
            found.update({value, quote(value, safe=""), quote_plus(value)})
    return {s for s in found if len(s) >= _MIN_SECRET}


def redact_query(url: str, keys: Collection[str]) -> str:
    """``url`` with the value of every query parameter in ``keys`` replaced by ``***``."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    query = "&".join(
        f"{key}=***" if unquote(key).lower() in keys else raw
        for raw in parts.query.split("&")
        for key, _, _value in [raw.partition("=")]
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def function_key_secrets(path: Any, headers: Mapping[str, Any] | None = None) -> set[str]:
    """The function keys a path's ``code=`` and a caller's ``x-functions-key`` header carry."""
    found = query_secrets(path, FUNCTION_KEY_QUERY) if isinstance(path, str) else set()
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(name, str) and name.strip().lower() == FUNCTION_KEY_HEADER and isinstance(value, str):
                found.update(v for v in (value, value.strip()) if len(v) >= _MIN_SECRET)
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
    if len(value) < _MIN_SECRET:
        raise AppServiceError(f"Function key secret '{name}' in {url} is empty or too short to be a function key")
    return value


def with_function_key(headers: Mapping[str, str] | None, key: str) -> dict[str, str]:
    """The request headers with the function key as ``x-functions-key``."""
    out = {k: v for k, v in (headers or {}).items() if str(k).strip().lower() != FUNCTION_KEY_HEADER}
    out[FUNCTION_KEY_HEADER] = key
    return out


def every_form(values: Iterable[str]) -> set[str]:
    """The raw and %-encoded forms of secrets read at run time (what a masker is given)."""
    return {form for v in values for form in (v, quote(v, safe=""), quote_plus(v)) if len(form) >= _MIN_SECRET}
