"""Seed one identity of a given kind in the emulator and build real SDK credentials and
clients for it, sync or aio, for a given cloud. Only what a real caller passes: authority,
ARM endpoint and scope of the cloud, and the emulator's CA as ``connection_verify``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider_appservice.testing import AppServiceEmulator, Principal, Site, Tenant

IDENTITY_KINDS = ["secret", "certificate", "msi", "msi_user", "imds", "workload", "federated", "federated_xtenant"]

CLOUD_ARGS = {
    "public": {"authority": "login.microsoftonline.com", "arm": "https://management.azure.com"},
    "china": {"authority": "login.chinacloudapi.cn", "arm": "https://management.chinacloudapi.cn"},
    "usgovernment": {"authority": "login.microsoftonline.us", "arm": "https://management.usgovcloudapi.net"},
}


@contextlib.contextmanager
def env_without(*names: str) -> Iterator[None]:
    saved = {n: os.environ.pop(n, None) for n in names}
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is not None:
                os.environ[n] = v


@dataclass
class Scenario:
    emu: AppServiceEmulator
    cloud: str
    tenant: Tenant
    subscription_id: str
    site: Site
    slot: Site
    kind: str
    principal: Principal
    helper: Principal | None = None  # the managed identity a federated app trusts

    @property
    def authority(self) -> str:
        return CLOUD_ARGS[self.cloud]["authority"]

    @property
    def arm(self) -> str:
        return CLOUD_ARGS[self.cloud]["arm"]

    def client_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"connection_verify": self.emu.ca_path}
        if self.cloud != "public":
            kw.update(base_url=self.arm, credential_scopes=[f"{self.arm}/.default"])
        return kw

    def _exchange_audience(self) -> str:
        return {
            "public": "api://AzureADTokenExchange",
            "china": "api://AzureADTokenExchangeChina",
            "usgovernment": "api://AzureADTokenExchangeUSGov",
        }[self.cloud]

    def credential(self, aio: bool = False) -> Any:
        if aio:
            from azure.identity import aio as identity
        else:
            import azure.identity as identity  # type: ignore[no-redef]
        p, ca = self.principal, self.emu.ca_path
        common = {"authority": self.authority, "connection_verify": ca}
        if self.kind == "secret":
            return identity.ClientSecretCredential(p.tenant_id, p.client_id, p.secret, **common)
        if self.kind == "certificate":
            assert p.certificate_pem is not None
            return identity.CertificateCredential(
                p.tenant_id, p.client_id, certificate_data=p.certificate_pem.encode(), password=p.password, **common
            )
        if self.kind in ("msi", "imds"):
            return identity.ManagedIdentityCredential(connection_verify=ca)
        if self.kind == "msi_user":
            return identity.ManagedIdentityCredential(client_id=p.client_id, connection_verify=ca)
        if self.kind == "workload":
            return identity.WorkloadIdentityCredential(
                tenant_id=p.tenant_id, client_id=p.client_id, token_file_path=p.token_file, **common
            )
        if self.kind.startswith("federated"):
            import azure.identity as sync_identity

            mi = sync_identity.ManagedIdentityCredential(connection_verify=ca)
            audience = self._exchange_audience()
            return identity.ClientAssertionCredential(
                p.tenant_id, p.client_id, lambda: mi.get_token(f"{audience}/.default").token, **common
            )
        raise AssertionError(self.kind)

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """IMDS is chosen by azure-identity only when the App Service variables are absent."""
        if self.kind == "imds":
            with env_without("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
                yield
        else:
            yield

    def sync_client(self) -> Any:
        from azure.mgmt.web import WebSiteManagementClient

        return WebSiteManagementClient(self.credential(), self.subscription_id, **self.client_kwargs())

    def aio_client(self) -> Any:
        from azure.mgmt.web.aio import WebSiteManagementClient

        return WebSiteManagementClient(self.credential(aio=True), self.subscription_id, **self.client_kwargs())


def make_scenario(
    emu: AppServiceEmulator,
    kind: str = "secret",
    cloud: str = "public",
    regional: bool = False,
    role: str | None = "Website Contributor",
    site_name: str = "app",
) -> Scenario:
    tenant = emu.add_tenant(cloud=cloud)
    sub = emu.add_subscription(tenant)
    site = emu.add_site(sub, "rg", site_name, regional=regional)
    slot = emu.add_slot(site, "staging")
    helper = None
    if kind == "secret":
        p = emu.add_service_principal(tenant)
    elif kind == "certificate":
        p = emu.add_certificate_principal(tenant, password="pem-pass")
    elif kind in ("msi", "imds"):
        p = emu.add_managed_identity(tenant)
    elif kind == "msi_user":
        emu.add_managed_identity(tenant)  # a system-assigned one too: the client id must pick
        p = emu.add_managed_identity(tenant, user_assigned=True)
    elif kind == "workload":
        p = emu.add_workload_identity(tenant)
    elif kind == "federated":
        helper = emu.add_managed_identity(tenant)
        p = emu.add_app_registration(tenant, trusts=helper)
    elif kind == "federated_xtenant":
        home = emu.add_tenant(cloud=cloud)  # the identity lives in another tenant of the same cloud
        helper = emu.add_managed_identity(home)
        p = emu.add_app_registration(tenant, trusts=helper)
    else:
        raise AssertionError(kind)
    if role:
        emu.assign_role(p, role, f"/subscriptions/{sub}/resourceGroups/rg")
    return Scenario(emu, cloud, tenant, sub, site, slot, kind, p, helper)
