"""Read and check a connection's identity settings without any I/O.

Every rule about which fields an auth type needs lives here, so a wrong connection
fails with a message naming the field and the fix before a single request is made —
in a task, in ``airflow connections test`` and in the UI's Test button alike.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_appservice.errors import ConnectionConfigError
from airflow_provider_appservice.identity.clouds import CLOUDS, Cloud

AUTH_TYPES = (
    "managed_identity",
    "workload_identity",
    "managed_identity_federated",
    "service_principal_secret",
    "service_principal_certificate",
    "key_vault_service_principal",
    "default",
)

DEFAULT_RETRY_MAX_ATTEMPTS = 4
DEFAULT_RETRY_MAX_DELAY_SECONDS = 60

_CONN_TYPE = "azure_app_service"
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_VAULT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{1,22}[a-z0-9])$")
_GUIDISH = re.compile(r"^[0-9a-zA-Z][0-9a-zA-Z.-]{0,254}$")

# Environment variables the workload identity webhook (AKS) injects into pods.
ENV_FEDERATED_TOKEN_FILE = "AZURE_FEDERATED_TOKEN_FILE"
ENV_CLIENT_ID = "AZURE_CLIENT_ID"
ENV_TENANT_ID = "AZURE_TENANT_ID"


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
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConnectionConfigError(key, "is not a whole number", f"use a number from {low} to {high}") from None
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
        raise ConnectionConfigError(field_name, "is not a valid URL", _vault_fix(cloud)) from None
    if parts.scheme != "https":
        raise ConnectionConfigError(field_name, "must use https", _vault_fix(cloud))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConnectionConfigError(field_name, "must not contain user information", _vault_fix(cloud))
    if port is not None:
        raise ConnectionConfigError(field_name, "must not name a port", _vault_fix(cloud))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConnectionConfigError(field_name, "must not have a path, query or fragment", _vault_fix(cloud))
    host = (parts.hostname or "").lower()
    suffix = "." + cloud.vault_suffix
    name = host[: -len(suffix)] if host.endswith(suffix) else ""
    if not name or not _VAULT_NAME.match(name):
        raise ConnectionConfigError(
            field_name, f"is not a vault of the '{cloud.name}' cloud (*{suffix})", _vault_fix(cloud)
        )
    return f"https://{host}"


def _vault_fix(cloud: Cloud) -> str:
    return f"use the vault's URI from its Overview page, e.g. https://my-vault.{cloud.vault_suffix}"


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


def _require(value: Any, field_name: str, auth_type: str, fix: str) -> None:
    if value in (None, ""):
        raise ConnectionConfigError(field_name, f"is required for auth_type '{auth_type}'", fix)


def _forbid(value: Any, field_name: str, auth_type: str, fix: str) -> None:
    if value not in (None, ""):
        raise ConnectionConfigError(field_name, f"must be empty for auth_type '{auth_type}'", fix)


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
    cloud = CLOUDS[cloud_name]
    login = (login or "").strip() or None
    password = password or None
    tenant_id = _extra(extras, "tenant_id")
    cert = _extra(extras, "client_certificate_private_key")
    cert_password = _extra(extras, "client_certificate_password")
    mi_client_id = _extra(extras, "managed_identity_client_id")
    vault_url = _extra(extras, "key_vault_url")
    vault_secret = _extra(extras, "key_vault_secret_name")
    token_file: str | None = None

    for name, value in (
        ("tenant_id", tenant_id),
        ("managed_identity_client_id", mi_client_id),
        ("login", login),
    ):
        if value is not None and not _GUIDISH.match(str(value)):
            label = "Client ID" if name == "login" else name
            raise ConnectionConfigError(label, "has characters an Entra ID cannot have", "paste the ID again")

    client_fix = "put the application (client) ID in the Client ID (login) field"
    tenant_fix = "set tenant_id to the Directory (tenant) ID"
    if auth_type == "managed_identity":
        _forbid(password, "Client secret", auth_type, "remove it: a managed identity has no secret")
        _forbid(cert, "client_certificate_private_key", auth_type, "remove it: a managed identity has no key")
        _forbid(
            login,
            "Client ID",
            auth_type,
            "put a user-assigned identity's client ID in managed_identity_client_id instead",
        )
    elif auth_type == "workload_identity":
        tenant_id = tenant_id or env.get(ENV_TENANT_ID)
        login = login or env.get(ENV_CLIENT_ID)
        token_file = env.get(ENV_FEDERATED_TOKEN_FILE)
        _require(tenant_id, "tenant_id", auth_type, tenant_fix)
        _require(login, "Client ID", auth_type, client_fix)
        if not token_file:
            raise ConnectionConfigError(
                "auth_type",
                f"workload_identity needs {ENV_FEDERATED_TOKEN_FILE} in the worker's environment, and it is unset",
                "enable workload identity on the pod (AKS injects the variable) or choose another auth type",
            )
        _forbid(password, "Client secret", auth_type, "remove it: workload identity uses a federated token")
    elif auth_type == "managed_identity_federated":
        _require(tenant_id, "tenant_id", auth_type, tenant_fix)
        _require(login, "Client ID", auth_type, client_fix + " of the app registration that trusts the identity")
        _forbid(password, "Client secret", auth_type, "remove it: the managed identity's token is the assertion")
        _forbid(cert, "client_certificate_private_key", auth_type, "remove it")
    elif auth_type == "service_principal_secret":
        _require(tenant_id, "tenant_id", auth_type, tenant_fix)
        _require(login, "Client ID", auth_type, client_fix)
        _require(password, "Client secret", auth_type, "put the client secret in the password field")
        _forbid(
            cert,
            "client_certificate_private_key",
            auth_type,
            "set either a secret or a certificate, not both (use service_principal_certificate for a certificate)",
        )
    elif auth_type == "service_principal_certificate":
        _require(tenant_id, "tenant_id", auth_type, tenant_fix)
        _require(login, "Client ID", auth_type, client_fix)
        _require(cert, "client_certificate_private_key", auth_type, "paste the PEM private key and certificate")
        _forbid(password, "Client secret", auth_type, "set either a secret or a certificate, not both")
        if "-----BEGIN" not in str(cert) or "PRIVATE KEY-----" not in str(cert):
            raise ConnectionConfigError(
                "client_certificate_private_key",
                "is not PEM text with a private key",
                "paste the PEM file, including the BEGIN ... PRIVATE KEY and BEGIN CERTIFICATE blocks",
            )
    elif auth_type == "key_vault_service_principal":
        _require(tenant_id, "tenant_id", auth_type, tenant_fix)
        _require(login, "Client ID", auth_type, client_fix)
        _require(vault_url, "key_vault_url", auth_type, _vault_fix(cloud))
        _require(vault_secret, "key_vault_secret_name", auth_type, "name the secret that holds the credential")
        _forbid(password, "Client secret", auth_type, "remove it: the secret is read from Key Vault")
        _forbid(
            cert,
            "client_certificate_private_key",
            auth_type,
            "remove it: the certificate is read from Key Vault",
        )
        vault_url = validate_key_vault_url(str(vault_url), cloud)
        token_file = env.get(ENV_FEDERATED_TOKEN_FILE)
    # "default" takes whatever DefaultAzureCredential finds; nothing to require.

    ca_bundle = _extra(extras, "ca_bundle")
    if ca_bundle is not None and not os.path.isfile(str(ca_bundle)):
        raise ConnectionConfigError(
            "ca_bundle",
            "names no readable file on this machine",
            "give the path of a PEM file on the workers",
        )

    return IdentityConfig(
        conn_id=conn_id,
        auth_type=auth_type,
        cloud=cloud,
        tenant_id=tenant_id,
        client_id=login,
        client_secret=password,
        certificate_pem=cert,
        certificate_password=cert_password,
        managed_identity_client_id=mi_client_id,
        federated_token_file=token_file,
        key_vault_url=vault_url,
        key_vault_secret_name=vault_secret,
        subscription_id=_extra(extras, "subscription_id"),
        resource_group=_extra(extras, "resource_group"),
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        allowed_hosts=parse_allowed_hosts(_extra(extras, "allowed_hosts")),
        retry_max_attempts=_int_extra(extras, "retry_max_attempts", DEFAULT_RETRY_MAX_ATTEMPTS, 1, 20),
        retry_max_delay_seconds=_int_extra(extras, "retry_max_delay_seconds", DEFAULT_RETRY_MAX_DELAY_SECONDS, 1, 600),
    )
