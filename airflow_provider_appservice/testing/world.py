"""A small default world for the CLI and the demo: one tenant with a subscription, a service
principal and a managed identity, a Linux web app with a staging slot, and a Key Vault holding
the service principal's secret (for the ``key_vault_service_principal`` flow)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_appservice.testing.emulator import AppServiceEmulator


def _free_name(emu: AppServiceEmulator, base: str, suffix: str) -> str:
    """``base`` if its host name is free in this emulator, else ``base-<random>``."""
    if emu.world.resolve_host(f"{base}.{suffix}") is None:
        return base
    return f"{base}-{secrets.token_hex(3)}"


def seed_default_world(emu: AppServiceEmulator, cloud: str = "public") -> dict[str, str]:
    """Seed the default world and describe it (ids, names, host names, the SP's secret).

    Roles: the service principal and the managed identity are Website Contributors on the
    resource group; the managed identity may read the vault's secrets.
    """
    tenant = emu.add_tenant(cloud=cloud)
    subscription_id = emu.add_subscription(tenant)
    sp = emu.add_service_principal(tenant)
    mi = emu.add_managed_identity(tenant)
    rg = "rg-demo"
    cloud_info = emu.world.cloud_of_tenant(tenant.tenant_id)
    site = emu.add_site(subscription_id, rg, _free_name(emu, "webapp", cloud_info.web_suffix))
    slot = emu.add_slot(site, "staging")
    vault_url = emu.add_vault(tenant, _free_name(emu, "kv-demo", cloud_info.vault_suffix))
    assert sp.secret is not None
    emu.set_secret(vault_url, "sp-client-secret", sp.secret)
    rg_id = f"/subscriptions/{subscription_id}/resourceGroups/{rg}"
    emu.assign_role(sp, "Website Contributor", rg_id)
    emu.assign_role(mi, "Website Contributor", rg_id)
    emu.assign_role(mi, "Key Vault Secrets User", vault_url)
    return {
        "cloud": cloud,
        "tenant_id": tenant.tenant_id,
        "subscription_id": subscription_id,
        "resource_group": rg,
        "site_name": site.name,
        "slot_name": slot.slot or "",
        "site_host": site.default_host_name,
        "scm_host": site.scm_host_name,
        "slot_host": slot.default_host_name,
        "sp_client_id": sp.client_id,
        "sp_client_secret": sp.secret,
        "mi_client_id": mi.client_id,
        "mi_object_id": mi.object_id,
        "vault_url": vault_url,
        "vault_secret_name": "sp-client-secret",
    }
