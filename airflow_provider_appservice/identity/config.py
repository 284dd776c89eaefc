"""Read and check a connection's identity settings without any I/O.

The rules of each auth type (what it requires, forbids and accepts) are a table in
:mod:`.auth_rules`; they are enforced here, so a wrong connection
fails with a message naming the field and the fix before a single request is made —
in a task, in ``airflow connections test`` and in the UI's Test button alike.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_appservice.errors import ConnectionConfigError
from airflow_provider_appservice.identity import fields
from airflow_provider_appservice.identity.audiences import parse_allowed_audiences
from airflow_provider_appservice.identity.auth_rules import (
    AUTH_RULES,
    AUTH_TYPES,
    ENV_CLIENT_ID,
    ENV_FEDERATED_TOKEN_FILE,
    ENV_TENANT_ID,
    IDENTITY_FIELDS,
    LABELS,
    Rule,
    vault_fix,
)
from airflow_provider_appservice.identity.clouds import CLOUDS, Cloud

__all__ = [
    "AUTH_RULES",
    "AUTH_TYPES",
    "ENV_CLIENT_ID",
    "ENV_FEDERATED_TOKEN_FILE",
    "ENV_TENANT_ID",
    "IdentityConfig",
    "parse_allowed_hosts",
    "parse_identity_config",
    "validate_key_vault_url",
]

DEFAULT_RETRY_MAX_ATTEMPTS = 4
DEFAULT_RETRY_MAX_DELAY_SECONDS = 60

_CONN_TYPE = "azure_app_service"
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_VAULT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{1,22}[a-z0-9])$")


@dataclass(frozen=True)
class IdentityConfig:
    """Everything identity and transport need from one connection, already checked."""

    conn_id: str
    auth_type: str
    cloud: Cloud
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_pem: str | None = field(default=None, repr=False)
    certificate_password: str | None = field(default=None, repr=False)
    managed_identity_client_id: str | None = None
    federated_token_file: str | None = None
    key_vault_url: str | None = None
    key_vault_secret_name: str | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    ca_bundle: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_audiences: tuple[str, ...] = ()  # canonical (``identity.audiences.canonical``)
    retry_max_attempts: int = DEFAULT_RETRY_MAX_ATTEMPTS
    retry_max_delay_seconds: int = DEFAULT_RETRY_MAX_DELAY_SECONDS

    @property
    def fingerprint(self) -> str:
        """A stable key for caching this identity's credential in a process.

        Secrets take part (hashed) so a rotated secret gets a fresh credential.
        """
        parts = [
            self.auth_type,
            self.cloud.name,
            self.tenant_id or "",
            self.client_id or "",
            self.client_secret or "",
            self.certificate_pem or "",
            self.certificate_password or "",
            self.managed_identity_client_id or "",
            self.federated_token_file or "",
            self.key_vault_url or "",
            self.key_vault_secret_name or "",
            self.ca_bundle or "",
        ]
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]

    @property
    def principal_label(self) -> str:
        """Who this is, for audit lines: auth type, client id and tenant; never a secret."""
        who = self.client_id or self.managed_identity_client_id or "system-assigned"
        tenant = f"@{self.tenant_id}" if self.tenant_id else ""
        return f"{self.auth_type}:{who}{tenant}"

    @property
    def tenant(self) -> str:
        """The tenant id, which parsing already required for every auth type that uses it."""
        if not self.tenant_id:
            raise ConnectionConfigError("tenant_id", "is empty", "set the Directory (tenant) ID")
        return self.tenant_id

    @property
    def client(self) -> str:
        """The client id, which parsing already required for every auth type that uses it."""
        if not self.client_id:
            raise ConnectionConfigError("Client ID", "is empty", "set the application (client) ID in login")
        return self.client_id

    def require_subscription(self) -> str:
        if not self.subscription_id:
            raise ConnectionConfigError(
                "subscription_id",
                "is empty but this operation works on a subscription's resources",
                "set the Subscription ID of the apps in the connection",
            )
        return self.subscription_id


def _extra(extras: Mapping[str, Any], key: str) -> Any:
    """Read an extra by its plain name or Airflow's legacy prefixed name."""
    for name in (key, f"extra__{_CONN_TYPE}__{key}"):
        value = extras.get(name)
        if value not in (None, ""):
            return value.strip() if isinstance(value, str) else value
    return None


def _int_extra(extras: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = _extra(extras, key)
    if raw is None:
        return default
    # bool is an int and int("2.9") fails but int(2.9) truncates: only whole numbers, as text or int.
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).strip().lstrip("-").isdigit():
        raise ConnectionConfigError(key, f"is {raw!r}, not a whole number", f"use a number from {low} to {high}")
    value = int(raw)
    if not low <= value <= high:
        raise ConnectionConfigError(key, f"is {value}, out of range", f"use a number from {low} to {high}")
    return value


def validate_key_vault_url(url: str, cloud: Cloud, field_name: str = "key_vault_url") -> str:
    """Parse a vault URL strictly: https, the cloud's vault suffix, no userinfo, port or path.

    A loose URL would let a connection hand a vault token to any host that answers a
    challenge, so anything unusual is refused rather than normalised.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConnectionConfigError(field_name, "is not a valid URL", vault_fix(cloud)) from None
    if parts.scheme != "https":
        raise ConnectionConfigError(field_name, "must use https", vault_fix(cloud))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConnectionConfigError(field_name, "must not contain user information", vault_fix(cloud))
    if port is not None:
        raise ConnectionConfigError(field_name, "must not name a port", vault_fix(cloud))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConnectionConfigError(field_name, "must not have a path, query or fragment", vault_fix(cloud))
    host = (parts.hostname or "").lower()
    suffix = "." + cloud.vault_suffix
    name = host[: -len(suffix)] if host.endswith(suffix) else ""
    if not name or not _VAULT_NAME.match(name):
        raise ConnectionConfigError(
            field_name, f"is not a vault of the '{cloud.name}' cloud (*{suffix})", vault_fix(cloud)
        )
    return f"https://{host}"


def parse_allowed_hosts(raw: Any) -> tuple[str, ...]:
    """Exact host names only: no scheme, port, path or wildcard."""
    if raw in (None, ""):
        return ()
    items = raw if isinstance(raw, list) else str(raw).replace(";", ",").split(",")
    hosts = []
    for item in items:
        host = str(item).strip().lower().rstrip(".")
        if not host:
            continue
        if not _HOSTNAME.match(host):
            raise ConnectionConfigError(
                "allowed_hosts",
                f"entry {host!r} is not an exact host name (no wildcards, schemes, ports or paths)",
                "list host names such as api.contoso.com, separated by commas",
            )
        hosts.append(host)
    return tuple(dict.fromkeys(hosts))


_CLIENT_ID_FIX = "put the application (client) ID, a GUID from the app registration's Overview page, in Client ID"


# Fields with a shape, checked wherever they are set (after the auth type's requires and forbids):
# each takes every value, returns the one to keep, or raises. Rules and sources: ``.fields``.
_CONTENT_CHECKS: dict[str, Callable[[Mapping[str, Any], Cloud], Any]] = {
    "tenant_id": lambda v, cloud: fields.check_tenant(v["tenant_id"]),
    "login": lambda v, cloud: fields.check_guid("Client ID", v["login"], _CLIENT_ID_FIX, echo=False),
    "managed_identity_client_id": lambda v, cloud: fields.check_guid(
        "managed_identity_client_id",
        v["managed_identity_client_id"],
        "use the user-assigned identity's Client ID (a GUID) from its Overview page, or leave it empty",
    ),
    "client_certificate_private_key": lambda v, cloud: fields.check_certificate(
        v["client_certificate_private_key"], v["client_certificate_password"]
    ),
    "key_vault_url": lambda v, cloud: validate_key_vault_url(str(v["key_vault_url"]), cloud),
    "key_vault_secret_name": lambda v, cloud: fields.check_vault_secret_name(v["key_vault_secret_name"]),
}


def _broken(rule: Rule, auth_type: str, cloud: Cloud, default_problem: str) -> ConnectionConfigError:
    fix = rule.fix(cloud) if callable(rule.fix) else rule.fix
    problem = rule.problem or f"{default_problem} for auth_type '{auth_type}'"
    return ConnectionConfigError(LABELS.get(rule.field, rule.field), problem, fix)


def _is_empty(value: Any) -> bool:
    return value in (None, "")


def apply_auth_rules(auth_type: str, values: dict[str, Any], cloud: Cloud, env: Mapping[str, str]) -> dict[str, Any]:
    """Fill what the environment supplies, then check ``values`` against the auth type's rules."""
    rules = AUTH_RULES[auth_type]
    values = dict(values, federated_token_file=None)
    if rules.tenant_and_client_from_env:
        values["tenant_id"] = values["tenant_id"] or env.get(ENV_TENANT_ID)
        values["login"] = values["login"] or env.get(ENV_CLIENT_ID)
    if rules.reads_token_file:
        values["federated_token_file"] = env.get(ENV_FEDERATED_TOKEN_FILE)
    for rule in rules.requires:
        if _is_empty(values[rule.field]):
            raise _broken(rule, auth_type, cloud, "is required")
    for rule in rules.forbids:
        if not _is_empty(values[rule.field]):
            raise _broken(rule, auth_type, cloud, "must be empty")
    for name, check in _CONTENT_CHECKS.items():
        if not _is_empty(values[name]):
            values[name] = check(values, cloud)
    return values


# -- reading a connection -------------------------------------------------------------------------


def _choice(extras: Mapping[str, Any]) -> tuple[str, Cloud]:
    """The connection's auth type and cloud, both checked against the known ones."""
    auth_type = _extra(extras, "auth_type")
    if auth_type is None:
        raise ConnectionConfigError(
            "auth_type",
            "is missing (there is no default, so nobody gets DefaultAzureCredential by accident)",
            "choose one of " + ", ".join(AUTH_TYPES),
        )
    if auth_type not in AUTH_TYPES:
        raise ConnectionConfigError(
            "auth_type", f"'{auth_type}' is not a known auth type", "choose one of " + ", ".join(AUTH_TYPES)
        )
    cloud_name = _extra(extras, "cloud") or "public"
    if cloud_name not in CLOUDS:
        raise ConnectionConfigError(
            "cloud", f"'{cloud_name}' is not a known cloud", "choose one of " + ", ".join(CLOUDS)
        )
    return auth_type, CLOUDS[cloud_name]


def _identity_values(login: str | None, password: str | None, extras: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of :data:`IDENTITY_FIELDS`, empty ones as ``None``."""
    values: dict[str, Any] = {
        name: _extra(extras, name) for name in IDENTITY_FIELDS if name not in ("login", "password")
    }
    values.update(login=(login or "").strip() or None, password=password or None)
    return values


def _azure_name(extras: Mapping[str, Any], field: str) -> str | None:
    """A subscription id or resource group, checked against Azure's rules (it goes into URLs)."""
    from airflow_provider_appservice.names import RULES

    value = _extra(extras, field)
    if value is None:
        return None
    problem = RULES[field](str(value).strip())
    if problem:
        raise ConnectionConfigError(field, f"{str(value)[:100]!r} {problem}", f"copy the {field} from the Azure portal")
    return str(value).strip()


def _ca_bundle(extras: Mapping[str, Any]) -> str | None:
    ca_bundle = _extra(extras, "ca_bundle")
    if ca_bundle is not None and not os.path.isfile(str(ca_bundle)):
        raise ConnectionConfigError(
            "ca_bundle",
            "names no readable file on this machine",
            "give the path of a PEM file on the workers",
        )
    return str(ca_bundle) if ca_bundle else None


def _refuse_unknown_extras(extras: Mapping[str, Any]) -> None:
    """A misspelt extra (``subscription-id``, ``resourceGroup``) would be ignored silently and the
    connection would behave as if it were unset: refuse it, naming the closest known field."""
    import difflib

    from airflow_provider_appservice.get_provider_info import CONN_FIELDS

    known = set(CONN_FIELDS) | {"auth_type"}
    for key in extras:
        name = str(key).removeprefix(f"extra__{_CONN_TYPE}__")
        if name in known or extras[key] in (None, ""):
            continue
        close = difflib.get_close_matches(name.replace("-", "_").lower(), sorted(known), n=1)
        raise ConnectionConfigError(
            str(key)[:60],
            "is not a field of this connection type, so it would be ignored",
            f"rename it to '{close[0]}'" if close else f"remove it (fields: {', '.join(sorted(known))})",
        )


def parse_identity_config(
    conn_id: str,
    *,
    login: str | None,
    password: str | None,
    extras: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> IdentityConfig:
    """Check a connection and return its identity settings, or raise ConnectionConfigError."""
    env = os.environ if environ is None else environ
    _refuse_unknown_extras(extras)
    auth_type, cloud = _choice(extras)
    values = apply_auth_rules(auth_type, _identity_values(login, password, extras), cloud, env)
    ca_bundle = _ca_bundle(extras)
    return IdentityConfig(
        conn_id=conn_id,
        auth_type=auth_type,
        cloud=cloud,
        tenant_id=values["tenant_id"],
        client_id=values["login"],
        client_secret=values["password"],
        certificate_pem=values["client_certificate_private_key"],
        certificate_password=values["client_certificate_password"],
        managed_identity_client_id=values["managed_identity_client_id"],
        federated_token_file=values["federated_token_file"],
        key_vault_url=values["key_vault_url"],
        key_vault_secret_name=values["key_vault_secret_name"],
        subscription_id=_azure_name(extras, "subscription_id"),
        resource_group=_azure_name(extras, "resource_group"),
        ca_bundle=ca_bundle,
        allowed_hosts=parse_allowed_hosts(_extra(extras, "allowed_hosts")),
        allowed_audiences=parse_allowed_audiences(_extra(extras, "allowed_audiences")),
        retry_max_attempts=_int_extra(extras, "retry_max_attempts", DEFAULT_RETRY_MAX_ATTEMPTS, 1, 20),
        retry_max_delay_seconds=_int_extra(extras, "retry_max_delay_seconds", DEFAULT_RETRY_MAX_DELAY_SECONDS, 1, 600),
    )
