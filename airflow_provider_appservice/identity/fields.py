"""The shape of each identity field, checked before any request: IDs, names, the PEM, the extra.

Each rule says where it comes from. A value that cannot be right is refused here, with the
field and the fix, instead of reaching Entra or Key Vault (which would answer with a less
helpful error, or not at all). Secrets and PEM text are never echoed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_appservice.errors import ConnectionConfigError

# Entra object, application and tenant IDs are GUIDs: "the application (client) ID ... a GUID"
# (learn.microsoft.com/entra/identity-platform/quickstart-register-app) and the client
# credentials flow's `tenant` is "the directory tenant ... in GUID or domain-name format"
# (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# A verified domain is a DNS name, so it has a dot (contoso.onmicrosoft.com, contoso.com);
# labels per RFC 1123.
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
# Authorities for any tenant (MSAL's AadAuthorityAudience): an app-only token is issued by one
# tenant, so with a service principal they name no tenant at all.
_MULTI_TENANT = ("common", "organizations", "consumers")
# Key Vault object names: "a 1-127 character string, containing only 0-9, a-z, A-Z, and -"
# (learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates, Object identifiers;
# the az CLI's pattern is ^[0-9a-zA-Z-]+$).
_VAULT_OBJECT_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")

_TENANT_FIX = (
    "paste the Directory (tenant) ID (a GUID) from the tenant's Overview page, "
    "or a verified domain such as contoso.onmicrosoft.com"
)
_KEY = "client_certificate_private_key"
_KEY_PASSWORD = "client_certificate_password"
_PEM_FIX = "paste the PEM file with both blocks: BEGIN PRIVATE KEY (RSA) and BEGIN CERTIFICATE"


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def check_tenant(value: Any) -> str:
    """A tenant ID (GUID) or a verified domain; never a multi-tenant authority."""
    text = str(value).strip()
    if text.lower() in _MULTI_TENANT:
        raise ConnectionConfigError(
            "tenant_id",
            f"'{text}' is a multi-tenant authority, which names no tenant for a service principal",
            _TENANT_FIX,
        )
    if is_guid(text) or _DOMAIN.match(text.lower()):
        return text
    raise ConnectionConfigError(
        "tenant_id", f"{text[:60]!r} is neither a tenant ID (a GUID) nor a domain name", _TENANT_FIX
    )


def check_guid(label: str, value: Any, fix: str, *, echo: bool = True) -> str:
    """An Entra client ID. ``echo=False`` for the Client ID field: a swapped secret stays unsaid."""
    text = str(value).strip()
    if is_guid(text):
        return text
    shown = f"{text[:60]!r} is" if echo else "is"
    raise ConnectionConfigError(label, f"{shown} not a GUID (an application or client ID is one)", fix)


def check_vault_secret_name(value: Any) -> str:
    text = str(value).strip()
    if not _VAULT_OBJECT_NAME.match(text):
        raise ConnectionConfigError(
            "key_vault_secret_name",
            f"{text[:60]!r} is not a Key Vault secret name (1-127 letters, digits and hyphens)",
            "use the secret's name as Key Vault shows it, without the vault URL or a version",
        )
    return text


def check_certificate(pem: Any, password: Any) -> str:
    """Load the key and certificate as azure-identity will (PEM, RSA key, password) and check
    they belong together, so a broken one fails here rather than at Entra or mid-task."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    text = str(pem)
    data = text.encode()
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        raise ConnectionConfigError(_KEY, "is not PEM text with a private key", _PEM_FIX)
    secret = str(password).encode() if password not in (None, "") else None
    try:
        key = serialization.load_pem_private_key(data, secret)
    except TypeError:  # cryptography: a password for a plain key, or none for an encrypted one
        if secret is None:
            raise ConnectionConfigError(
                _KEY_PASSWORD, "is empty but the key is encrypted", "set the key's password"
            ) from None
        raise ConnectionConfigError(
            _KEY_PASSWORD, "is set but the key is not encrypted", "remove the password, or paste the encrypted key"
        ) from None
    except ValueError:
        encrypted = "ENCRYPTED PRIVATE KEY" in text or "Proc-Type: 4,ENCRYPTED" in text
        if encrypted and secret is not None:
            raise ConnectionConfigError(_KEY_PASSWORD, "does not decrypt the key", "set the key's password") from None
        raise ConnectionConfigError(_KEY, "has a private key block that cannot be read", _PEM_FIX) from None
    # azure-identity signs the client assertion with RS256 and refuses any other key.
    if not isinstance(key, RSAPrivateKey):
        raise ConnectionConfigError(_KEY, "holds a key that is not RSA (Entra's assertions are RS256)", _PEM_FIX)
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ConnectionConfigError(_KEY, "has no certificate beside its private key", _PEM_FIX) from None
    if cert.public_key() != key.public_key():
        raise ConnectionConfigError(
            _KEY, "holds a certificate of another key", "paste the certificate that belongs to this key"
        )
    return text


def extras_of(raw: Any) -> dict[str, Any]:
    """A connection's raw ``extra`` as a dict. Airflow's ``extra_dejson`` turns text that is
    not JSON into ``{}`` (then "auth_type is missing") and hands a JSON list on as a list."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    fix = 'write the extra as one JSON object, e.g. {"auth_type": "managed_identity"}'
    try:
        value = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except ValueError:
        raise ConnectionConfigError("extra", "is not JSON", fix) from None
    if not isinstance(value, dict):
        raise ConnectionConfigError("extra", f"is a JSON {type(value).__name__}, not an object", fix)
    return value
