"""The emulated Azure's state: one ``World`` per emulator, shared by the HTTP handlers (event
loop thread) and the test's seeding calls (main thread), so every access takes ``self.lock``.
Handlers never await while holding it.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from airflow_provider_appservice.testing import rbac, tokens
from airflow_provider_appservice.testing.catalog import NO_SLOTS, host_names, plan_tier, region_display
from airflow_provider_appservice.testing.clouds import CLOUDS, Cloud, get_cloud, norm_aud
from airflow_provider_appservice.testing.journal import Issue, Journal
from airflow_provider_appservice.testing.model import (
    FederatedCredential,
    HostInfo,
    Principal,
    RoleAssignment,
    SecretVersion,
    Site,
    Subscription,
    Tenant,
    TokenRecord,
    Vault,
)
from airflow_provider_appservice.testing.tls import make_client_certificate, write_private

WORKLOAD_TOKEN_LIFETIME = 86400  # the federated token file outlives any test; UNVERIFIED value


class World:
    def __init__(
        self,
        data_dir: str,
        token_format: str = "jwt",
        token_lifetime: int = 3600,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if token_format not in ("jwt", "opaque"):
            raise ValueError("token_format must be 'jwt' or 'opaque'")
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self.token_format = token_format
        self.token_lifetime = token_lifetime
        self.clock: Callable[[], float] = clock or time.time
        self.clock_offset = 0.0
        self.journal = Journal()
        self.tenants: dict[str, Tenant] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.principals: dict[tuple[str, str], Principal] = {}  # (tenant, client_id)
        self.managed_identities: list[Principal] = []
        self.system_identity: Principal | None = None
        self.sites: dict[str, Site] = {}  # lower resource id
        self.vaults: dict[str, Vault] = {}  # host
        self.assignments: list[RoleAssignment] = []
        self.tokens: dict[str, TokenRecord] = {}
        # Application ID URIs of app registrations (normalised, lower case) -> their client id;
        # Easy Auth (testing/easyauth.py) registers them so Entra issues tokens for them.
        self.identifier_uris: dict[str, str] = {}
        self._hosts: dict[str, HostInfo] = {}
        for cloud in CLOUDS.values():
            self._hosts[cloud.authority_host] = HostInfo("entra", cloud)
            self._hosts[cloud.management_host] = HostInfo("arm", cloud)

    # -- time -------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock() + self.clock_offset

    # -- lookups ----------------------------------------------------------------------------
    def resolve_host(self, host: str) -> HostInfo | None:
        with self.lock:
            return self._hosts.get(host.lower())

    def tenant(self, tenant: Tenant | str) -> Tenant:
        tid = tenant.tenant_id if isinstance(tenant, Tenant) else tenant
        with self.lock:
            try:
                return self.tenants[tid]
            except KeyError:
                raise ValueError(f"unknown tenant {tid!r}") from None

    def cloud_of_tenant(self, tenant_id: str) -> Cloud:
        return get_cloud(self.tenant(tenant_id).cloud)

    def find_app(self, tenant_id: str, client_id: str) -> Principal | None:
        with self.lock:
            p = self.principals.get((tenant_id, client_id.lower()))
            return p if p is not None and p.is_app else None

    def find_managed_identity(
        self, client_id: str | None = None, object_id: str | None = None, resource_id: str | None = None
    ) -> Principal | None:
        """The identity a MSI/IMDS request names, or the system-assigned one if it names none."""
        with self.lock:
            if not (client_id or object_id or resource_id):
                return self.system_identity
            for mi in self.managed_identities:
                if client_id and mi.client_id == client_id.lower():
                    return mi
                if object_id and mi.object_id == object_id.lower():
                    return mi
                if resource_id and mi.resource_id and mi.resource_id.lower() == resource_id.lower():
                    return mi
        return None

    def lookup_token(self, token: str) -> TokenRecord | None:
        with self.lock:
            return self.tokens.get(token)

    def is_expired(self, record: TokenRecord) -> bool:
        return self.now() >= record.exp

    def find_site(self, resource_id: str) -> Site | None:
        with self.lock:
            return self.sites.get(resource_id.lower())

    def subscription(self, subscription_id: str) -> Subscription | None:
        with self.lock:
            return self.subscriptions.get(subscription_id.lower())

    def known_resource(self, cloud: Cloud, audience: str) -> bool:
        """Whether Entra would know a resource by this identifier (AADSTS500011 otherwise)."""
        aud = norm_aud(audience)
        if aud in cloud.scm_audiences or aud in {
            norm_aud(cloud.vault_resource),
            cloud.token_exchange_audience,
            cloud.graph_resource,
            "https://storage.azure.com",
        }:
            return True
        app_id = aud[len("api://") :] if aud.startswith("api://") else aud
        with self.lock:
            if aud.lower() in self.identifier_uris:
                return True
            return any(p.client_id == app_id.lower() for p in self.principals.values())

    def is_authorized(self, object_id: str, action: str, resource_id: str, data: bool = False) -> bool:
        with self.lock:
            return any(
                a.object_id == object_id
                and rbac.scope_covers(a.scope, resource_id)
                and rbac.role_grants(a.role, action, data)
                for a in self.assignments
            )

    # -- seeding ----------------------------------------------------------------------------
    def add_tenant(self, cloud: str = "public", tenant_id: str | None = None) -> Tenant:
        get_cloud(cloud)
        t = Tenant(tenant_id=(tenant_id or str(uuid.uuid4())).lower(), cloud=cloud)
        with self.lock:
            if t.tenant_id in self.tenants:
                raise ValueError(f"tenant {t.tenant_id} exists")
            self.tenants[t.tenant_id] = t
        return t

    def add_subscription(self, tenant: Tenant | str, subscription_id: str | None = None) -> str:
        t = self.tenant(tenant)
        sid = (subscription_id or str(uuid.uuid4())).lower()
        with self.lock:
            if sid in self.subscriptions:
                raise ValueError(f"subscription {sid} exists")
            self.subscriptions[sid] = Subscription(sid, t.tenant_id)
        return sid

    def add_resource_group(self, subscription_id: str, name: str) -> str:
        with self.lock:
            sub = self.subscriptions.get(subscription_id.lower())
            if sub is None:
                raise ValueError(f"unknown subscription {subscription_id!r}")
            return sub.resource_groups.setdefault(name.lower(), name)

    def _first_subscription(self, tenant_id: str) -> str:
        with self.lock:
            for sub in self.subscriptions.values():
                if sub.tenant_id == tenant_id:
                    return sub.subscription_id
        return str(uuid.uuid4())  # not registered: only assignments at the resource apply

    def _add_principal(self, tenant: Tenant | str, kind: str, client_id: str | None = None, **kw: Any) -> Principal:
        t = self.tenant(tenant)
        p = Principal(
            kind=kind,
            tenant_id=t.tenant_id,
            client_id=(client_id or str(uuid.uuid4())).lower(),
            object_id=str(uuid.uuid4()),
            cloud=t.cloud,
            **kw,
        )
        with self.lock:
            if (t.tenant_id, p.client_id) in self.principals:
                raise ValueError(f"client id {p.client_id} exists in tenant {t.tenant_id}")
            self.principals[(t.tenant_id, p.client_id)] = p
        return p

    def add_service_principal(
        self, tenant: Tenant | str, client_id: str | None = None, secret: str | None = None
    ) -> Principal:
        # Entra client secrets look like "abc8Q~..." (40 chars); the shape is not checked by clients.
        secret = secret or f"{secrets.token_hex(2)}8Q~{secrets.token_urlsafe(27)[:35]}"
        return self._add_principal(tenant, "service_principal", client_id, secret=secret)

    def add_certificate_principal(
        self, tenant: Tenant | str, password: str | None = None, client_id: str | None = None
    ) -> Principal:
        p = self._add_principal(tenant, "certificate_principal", client_id, password=password)
        cert = make_client_certificate(f"emulator-{p.client_id}", password)
        p.certificate_pem = cert.pem.decode("ascii")
        p.pkcs12 = cert.pkcs12
        p.certificate = cert.certificate
        p.certificate_path = write_private(os.path.join(self.data_dir, f"cert-{p.client_id}.pem"), cert.pem)
        return p

    def add_managed_identity(
        self, tenant: Tenant | str, user_assigned: bool = False, name: str | None = None
    ) -> Principal:
        p = self._add_principal(tenant, "managed_identity", user_assigned=user_assigned)
        if user_assigned:
            name = name or f"id-{p.client_id[:8]}"
            p.display_name = name
            p.resource_id = (
                f"/subscriptions/{self._first_subscription(p.tenant_id)}/resourcegroups/rg-identities"
                f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
            )
        with self.lock:
            self.managed_identities.append(p)
            if not user_assigned:
                # The latest system-assigned identity is "this machine's": a shared emulator
                # seeded per test then answers with the identity the current test created.
                self.system_identity = p
        return p

    def add_workload_identity(self, tenant: Tenant | str, subject: str | None = None) -> Principal:
        p = self._add_principal(tenant, "workload_identity")
        issuer = f"https://westeurope.oic.prod-aks.azure.com/{p.tenant_id}/{uuid.uuid4()}/"
        subject = subject or f"system:serviceaccount:default:workload-{p.client_id[:8]}"
        audience = get_cloud(p.cloud).token_exchange_audience
        p.federated_credentials.append(FederatedCredential(issuer, subject, audience))
        p.token_file = os.path.join(self.data_dir, f"federated-token-{p.client_id}")
        self.refresh_token_file(p)
        return p

    def refresh_token_file(self, principal: Principal) -> str:
        """Write a fresh federated token to a workload identity's file (as the kubelet would)."""
        if principal.token_file is None:
            raise ValueError("not a workload identity")
        fc = principal.federated_credentials[0]
        now = int(self.now())
        claims = {
            "aud": [fc.audience],
            "iss": fc.issuer,
            "sub": fc.subject,
            "iat": now,
            "nbf": now,
            "exp": now + WORKLOAD_TOKEN_LIFETIME,
        }
        token = tokens.mint(claims, self.token_format)
        with self.lock:
            self.tokens[token] = TokenRecord(token, {**claims, "aud": fc.audience}, "oidc")
        write_private(principal.token_file, token.encode())
        return token

    def add_app_registration(self, tenant: Tenant | str, trusts: Principal) -> Principal:
        """An app registration with a federated credential trusting ``trusts``.

        A managed identity is trusted by (its tenant's v2 issuer, its object id); a workload
        identity by its own issuer and subject.
        """
        if trusts.kind == "managed_identity":
            cloud = get_cloud(trusts.cloud)
            fc = FederatedCredential(cloud.v2_issuer(trusts.tenant_id), trusts.object_id, cloud.token_exchange_audience)
        elif trusts.federated_credentials and trusts.kind == "workload_identity":
            fc = trusts.federated_credentials[0]
        else:
            raise ValueError("trusts must be a managed identity or a workload identity")
        return self._add_principal(tenant, "app_registration", federated_credentials=[fc])

    def assign_role(self, principal: Principal, role: str, scope: Any) -> RoleAssignment:
        if role not in rbac.ROLES:
            raise ValueError(f"unknown role {role!r}; known: {sorted(rbac.ROLES)}")
        if isinstance(scope, Site):
            scope_id = scope.id
        elif isinstance(scope, Vault):
            scope_id = scope.resource_id
        elif isinstance(scope, str) and scope.startswith("https://"):
            vault = self.vault_for_url(scope)
            if vault is None:
                raise ValueError(f"unknown vault {scope!r}")
            scope_id = vault.resource_id
        elif isinstance(scope, str) and scope.startswith("/subscriptions/"):
            scope_id = scope.rstrip("/")
        else:
            raise ValueError(f"scope must be a resource id, a Site or a vault URL, not {scope!r}")
        a = RoleAssignment(principal.object_id, role, scope_id)
        with self.lock:
            self.assignments.append(a)
        return a

    def _register_host(self, host: str, info: HostInfo) -> None:
        """Point a host name at a site or vault. Names are global in Azure, but a shared
        emulator is seeded per test with the same names, so the latest registration wins (the
        earlier resource stays reachable through ARM by its id)."""
        self._hosts[host.lower()] = info

    def add_site(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        kind: str = "app,linux",
        plan_sku: str = "P1v3",
        location: str = "westeurope",
        regional: bool = False,
    ) -> Site:
        with self.lock:
            sub = self.subscriptions.get(subscription_id.lower())
            if sub is None:
                raise ValueError(f"unknown subscription {subscription_id!r}")
            cloud = self.cloud_of_tenant(sub.tenant_id)
            rg = self.add_resource_group(sub.subscription_id, resource_group)
            default, scm = host_names(name, cloud, location, regional)
            site = Site(
                sub.subscription_id,
                rg,
                name,
                kind,
                region_display(location),
                plan_sku,
                default,
                scm,
                cloud.name,
                regional=regional,
            )
            self._add_site_hosts(site, cloud)
            return site

    def add_slot(self, site: Site, slot: str) -> Site:
        if site.slot is not None:
            raise ValueError("slots belong to the production site, not to another slot")
        tier = plan_tier(site.plan_sku)
        if tier in NO_SLOTS:
            raise ValueError(f"plan {site.plan_sku} ({tier}) has no deployment slots")
        cloud = get_cloud(site.cloud)
        with self.lock:
            if slot.lower() in site.slots:
                raise ValueError(f"slot {slot} exists")
            default, scm = host_names(f"{site.name}-{slot}", cloud, site.location, site.regional)
            s = Site(
                site.subscription_id,
                site.resource_group,
                f"{site.name}/{slot}",
                site.kind,
                site.location,
                site.plan_sku,
                default,
                scm,
                site.cloud,
                slot=slot,
                parent=site,
                regional=site.regional,
            )
            self._add_site_hosts(s, cloud)
            site.slots[slot.lower()] = s
            return s

    def _add_site_hosts(self, site: Site, cloud: Cloud) -> None:
        if site.id.lower() in self.sites:
            raise ValueError(f"site {site.id} exists")
        self._register_host(site.default_host_name, HostInfo("app", cloud, site))
        self._register_host(site.scm_host_name, HostInfo("scm", cloud, site))
        self.sites[site.id.lower()] = site

    def remove_site(self, site: Site) -> None:
        """Forget a site (with its slots) or a slot, and its host names (ARM DELETE)."""
        with self.lock:
            for each in (site, *site.slots.values()):
                self.sites.pop(each.id.lower(), None)
                for host in (each.default_host_name, each.scm_host_name):
                    info = self._hosts.get(host.lower())
                    if info is not None and info.target is each:
                        del self._hosts[host.lower()]
            if site.parent is not None:
                site.parent.slots.pop((site.slot or "").lower(), None)

    def add_vault(
        self,
        tenant: Tenant | str,
        name: str,
        subscription_id: str | None = None,
        resource_group: str = "rg-vaults",
    ) -> str:
        t = self.tenant(tenant)
        cloud = get_cloud(t.cloud)
        host = f"{name.lower()}.{cloud.vault_suffix}"
        sub = subscription_id or self._first_subscription(t.tenant_id)
        rid = f"/subscriptions/{sub}/resourceGroups/{resource_group}/providers/Microsoft.KeyVault/vaults/{name}"
        vault = Vault(name.lower(), t.tenant_id, cloud.name, f"https://{host}", rid)
        with self.lock:
            self._register_host(host, HostInfo("vault", cloud, vault))
            self.vaults[host] = vault
        return vault.url

    def vault_for_url(self, url: str) -> Vault | None:
        host = url.split("://", 1)[-1].split("/", 1)[0].lower()
        with self.lock:
            return self.vaults.get(host)

    def set_secret(self, vault_url: str, name: str, value: str, content_type: str | None = None) -> str:
        vault = self.vault_for_url(vault_url)
        if vault is None:
            raise ValueError(f"unknown vault {vault_url!r}")
        now = int(self.now())
        version = uuid.uuid4().hex
        with self.lock:
            vault.secrets.setdefault(name.lower(), []).append(SecretVersion(version, value, content_type, now, now))
        return version

    # -- tokens -----------------------------------------------------------------------------
    def issue_token(self, principal: Principal, audience: str, via: str) -> TokenRecord:
        """Mint an access token for ``principal`` and remember its claims.

        Issuer: v1 (``sts``) for resource tokens, v2 for ``api://`` audiences; the exact
        choice Entra makes per resource is UNVERIFIED.
        """
        cloud = get_cloud(principal.cloud)
        now = int(self.now())
        v2 = audience.startswith("api://")
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": cloud.v2_issuer(principal.tenant_id) if v2 else cloud.v1_issuer(principal.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + int(self.token_lifetime),
            "appid": principal.client_id,
            "azp": principal.client_id,
            "idtyp": "app",
            "oid": principal.object_id,
            "sub": principal.object_id,
            "tid": principal.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "2.0" if v2 else "1.0",
        }
        if principal.resource_id:
            claims["xms_mirid"] = principal.resource_id
        token = tokens.mint(claims, self.token_format)
        record = TokenRecord(token, claims, "access")
        with self.lock:
            self.tokens[token] = record
        self.journal.record_issue(Issue(audience, principal.client_id, principal.tenant_id, via))
        return record

    def issued_tokens(self) -> list[str]:
        with self.lock:
            return list(self.tokens)
