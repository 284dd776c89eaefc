"""The things the emulated Azure is made of. Plain records; ``state.World`` owns and locks them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from airflow_provider_appservice.testing.clouds import Cloud


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    cloud: str


@dataclass(frozen=True)
class FederatedCredential:
    """An app registration's trust in tokens from another issuer (matched exactly, as Entra does)."""

    issuer: str
    subject: str
    audience: str


@dataclass(eq=False)
class Principal:
    """A service principal of some kind; the fields that do not apply to a kind stay None.

    ``kind`` is one of ``service_principal`` (secret), ``certificate_principal``,
    ``managed_identity``, ``workload_identity``, ``app_registration`` (federated trust in a
    managed identity). Secrets are kept out of ``repr`` so a failing assert does not print them.
    """

    kind: str
    tenant_id: str
    client_id: str
    object_id: str
    cloud: str
    display_name: str = ""
    secret: str | None = field(default=None, repr=False)
    certificate_pem: str | None = field(default=None, repr=False)  # key (encrypted if password) + cert
    pkcs12: bytes | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    token_file: str | None = None
    resource_id: str | None = None  # user-assigned managed identities
    user_assigned: bool = False
    federated_credentials: list[FederatedCredential] = field(default_factory=list, repr=False)
    certificate: x509.Certificate | None = field(default=None, repr=False)

    @property
    def is_app(self) -> bool:
        """Whether it can use the token endpoint (managed identities cannot)."""
        return self.kind != "managed_identity"


@dataclass
class Subscription:
    subscription_id: str
    tenant_id: str
    resource_groups: dict[str, str] = field(default_factory=dict)  # lower name -> name


@dataclass(eq=False)
class Site:
    """A web or function app, or one of its deployment slots (``slot`` set, ``parent`` set)."""

    subscription_id: str
    resource_group: str
    name: str  # "app" or "app/staging", as ARM spells it
    kind: str
    location: str
    plan_sku: str
    default_host_name: str
    scm_host_name: str
    cloud: str
    slot: str | None = None
    parent: Site | None = field(default=None, repr=False)
    regional: bool = False
    state: str = "Running"
    plan_name: str | None = None  # its App Service plan; None: the implicit ``<site>-plan``
    # Kudu (testing/kudu.py): SCM basic auth with the publishing credentials is refused unless
    # enabled (default off, like hardened tenants); the password publishingcredentials reports.
    basic_auth_enabled: bool = False
    publishing_password: str = field(default_factory=lambda: secrets.token_urlsafe(45), repr=False)
    slots: dict[str, Site] = field(default_factory=dict, repr=False)
    app_settings: dict[str, str] = field(default_factory=dict, repr=False)
    connection_strings: dict[str, Any] = field(default_factory=dict, repr=False)
    site_config: dict[str, Any] = field(default_factory=dict, repr=False)
    # Which build this site or slot serves now: deployments set it, swaps exchange it.
    build: str = "initial"
    # ARM write operations (site_ops, arm_swap, arm_settings): the last or running swap as ARM
    # shows it, the slot a pending swap/preview targets, identities, sticky names (production
    # only; lists are None until the first PUT of slotConfigNames, as in real traffic).
    slot_swap_status: dict[str, Any] | None = field(default=None, repr=False)
    target_swap_slot: str | None = None
    identity: Principal | None = field(default=None, repr=False)  # system-assigned
    user_identities: list[Principal] = field(default_factory=list, repr=False)
    key_vault_reference_identity: str = "SystemAssigned"  # or a user-assigned identity's resource id
    slot_config_names: dict[str, list[str] | None] = field(
        default_factory=lambda: {
            "appSettingNames": None,
            "connectionStringNames": None,
            "azureStorageConfigNames": None,
        },
        repr=False,
    )

    @property
    def plan_id(self) -> str:
        prod = self.parent or self
        name = prod.plan_name or f"{prod.site_name}-plan"
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/Microsoft.Web/serverfarms/{name}"

    @property
    def site_name(self) -> str:
        """The production site's name, also for a slot."""
        return self.name.split("/", 1)[0]

    @property
    def id(self) -> str:
        base = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Web/sites/{self.site_name}"
        )
        return f"{base}/slots/{self.slot}" if self.slot else base


@dataclass
class SecretVersion:
    version: str
    value: str = field(repr=False)
    content_type: str | None
    created: int
    updated: int
    enabled: bool = True
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class Vault:
    name: str
    tenant_id: str
    cloud: str
    url: str
    resource_id: str
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class RoleAssignment:
    object_id: str
    role: str
    scope: str


@dataclass(frozen=True)
class TokenRecord:
    """What the emulator knows about a token it issued (the claims, also for opaque tokens)."""

    token: str = field(repr=False)
    claims: dict[str, Any]
    kind: str  # "access" or "oidc" (a workload identity's federated token)

    @property
    def aud(self) -> str:
        return str(self.claims["aud"])

    @property
    def tid(self) -> str:
        return str(self.claims.get("tid", ""))

    @property
    def appid(self) -> str:
        return str(self.claims.get("appid", ""))

    @property
    def oid(self) -> str:
        return str(self.claims.get("oid", ""))

    @property
    def iss(self) -> str:
        return str(self.claims["iss"])

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])

    @property
    def exp(self) -> float:
        return float(self.claims["exp"])


@dataclass(frozen=True)
class HostInfo:
    """What an emulated host name is: ``kind`` picks the router; ``target`` is its site/vault."""

    kind: str  # entra, arm, vault, app, scm, local
    cloud: Cloud | None
    target: Site | Vault | None = None
