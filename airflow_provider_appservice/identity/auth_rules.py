"""The rules of every auth type, as a table: which fields it requires, forbids and accepts.

Read :data:`AUTH_RULES` to see what a connection of one auth type must look like;
:func:`~airflow_provider_appservice.identity.config.parse_identity_config` enforces it and
the connection form offers exactly :data:`AUTH_TYPES`. Plain data on the standard library
only: ``get_provider_info`` imports it while ``import airflow`` is still running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from airflow_provider_appservice.identity.clouds import Cloud

# Environment variables the workload identity webhook (AKS) injects into pods.
ENV_FEDERATED_TOKEN_FILE = "AZURE_FEDERATED_TOKEN_FILE"
ENV_CLIENT_ID = "AZURE_CLIENT_ID"
ENV_TENANT_ID = "AZURE_TENANT_ID"


def vault_fix(cloud: Cloud) -> str:
    return f"use the vault's URI from its Overview page, e.g. https://my-vault.{cloud.vault_suffix}"


# The values a rule talks about, read from the connection: its extras by name, plus ``login``
# (the Client ID) and ``password`` (the client secret), and ``federated_token_file`` from the
# worker's environment. Messages name a field as the connection form shows it.
IDENTITY_FIELDS = (
    "tenant_id",
    "login",
    "password",
    "client_certificate_private_key",
    "client_certificate_password",
    "managed_identity_client_id",
    "key_vault_url",
    "key_vault_secret_name",
)
LABELS = {"login": "Client ID", "password": "Client secret", "federated_token_file": "auth_type"}

Fix: TypeAlias = str | Callable[[Cloud], str]  # a fix may name the cloud


@dataclass(frozen=True)
class Rule:
    """One field one auth type requires (or forbids), and the fix a message proposes."""

    field: str
    fix: Fix
    problem: str | None = None  # default: "is required for ..." / "must be empty for ..."


@dataclass(frozen=True)
class AuthRules:
    """What one auth type requires, forbids and accepts, checked in this order.

    ``requires`` and ``forbids`` fail on the first field that breaks them; then every field
    that is set and has a shape (IDs, PEM, vault URL and secret name) is parsed, whatever the
    auth type (``identity.fields``). ``accepts`` are the fields that may be set; with
    ``requires`` and ``forbids`` they name every field of :data:`IDENTITY_FIELDS` exactly once.
    """

    requires: tuple[Rule, ...] = ()
    forbids: tuple[Rule, ...] = ()
    accepts: tuple[str, ...] = ()
    tenant_and_client_from_env: bool = False  # AKS's AZURE_TENANT_ID / AZURE_CLIENT_ID fill gaps
    reads_token_file: bool = False  # AZURE_FEDERATED_TOKEN_FILE, for the credential or its bootstrap


_CLIENT_FIX = "put the application (client) ID in the Client ID (login) field"
_TENANT = Rule("tenant_id", "set tenant_id to the Directory (tenant) ID")
_CLIENT = Rule("login", _CLIENT_FIX)
_NOT_BOTH = "set either a secret or a certificate, not both"
# Never required nor forbidden: a key password, and a user-assigned identity (the credential itself
# or the bootstrap of key_vault_service_principal and managed_identity_federated).
_ALWAYS_ACCEPTED = ("client_certificate_password", "managed_identity_client_id")
_VAULT = ("key_vault_url", "key_vault_secret_name")
_DEFAULT_FIX = (
    "remove it: DefaultAzureCredential would ignore it (choose service_principal_secret or "
    "service_principal_certificate to use it)"
)

AUTH_RULES: dict[str, AuthRules] = {
    "managed_identity": AuthRules(
        forbids=(
            Rule("password", "remove it: a managed identity has no secret"),
            Rule("client_certificate_private_key", "remove it: a managed identity has no key"),
            Rule("login", "put a user-assigned identity's client ID in managed_identity_client_id instead"),
        ),
        accepts=("tenant_id", *_ALWAYS_ACCEPTED, *_VAULT),
    ),
    "workload_identity": AuthRules(
        requires=(
            _TENANT,
            _CLIENT,
            Rule(
                "federated_token_file",
                "enable workload identity on the pod (AKS injects the variable) or choose another auth type",
                problem=f"workload_identity needs {ENV_FEDERATED_TOKEN_FILE} in the worker's environment, "
                "and it is unset",
            ),
        ),
        forbids=(Rule("password", "remove it: workload identity uses a federated token"),),
        accepts=("client_certificate_private_key", *_ALWAYS_ACCEPTED, *_VAULT),
        tenant_and_client_from_env=True,
        reads_token_file=True,
    ),
    "managed_identity_federated": AuthRules(
        requires=(_TENANT, Rule("login", _CLIENT_FIX + " of the app registration that trusts the identity")),
        forbids=(
            Rule("password", "remove it: the managed identity's token is the assertion"),
            Rule("client_certificate_private_key", "remove it"),
        ),
        accepts=(*_ALWAYS_ACCEPTED, *_VAULT),
    ),
    "service_principal_secret": AuthRules(
        requires=(_TENANT, _CLIENT, Rule("password", "put the client secret in the password field")),
        forbids=(
            Rule(
                "client_certificate_private_key",
                _NOT_BOTH + " (use service_principal_certificate for a certificate)",
            ),
        ),
        accepts=(*_ALWAYS_ACCEPTED, *_VAULT),
    ),
    "service_principal_certificate": AuthRules(
        requires=(
            _TENANT,
            _CLIENT,
            Rule("client_certificate_private_key", "paste the PEM private key and certificate"),
        ),
        forbids=(Rule("password", _NOT_BOTH),),
        accepts=(*_ALWAYS_ACCEPTED, *_VAULT),
    ),
    "key_vault_service_principal": AuthRules(
        requires=(
            _TENANT,
            _CLIENT,
            Rule("key_vault_url", vault_fix),
            Rule("key_vault_secret_name", "name the secret that holds the credential"),
        ),
        forbids=(
            Rule("password", "remove it: the secret is read from Key Vault"),
            Rule("client_certificate_private_key", "remove it: the certificate is read from Key Vault"),
        ),
        accepts=_ALWAYS_ACCEPTED,
        reads_token_file=True,
    ),
    # DefaultAzureCredential takes whatever it finds in the environment; nothing is required. A
    # secret or certificate in the connection would be ignored silently, so it is refused.
    "default": AuthRules(
        forbids=(
            Rule("password", _DEFAULT_FIX),
            Rule("client_certificate_private_key", _DEFAULT_FIX),
            Rule("client_certificate_password", _DEFAULT_FIX),
        ),
        accepts=("tenant_id", "login", "managed_identity_client_id", *_VAULT),
    ),
}

AUTH_TYPES: tuple[str, ...] = tuple(AUTH_RULES)
