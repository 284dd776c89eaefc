"""One emulator per test session, seeded per test with fresh ids; its env applied in-process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_appservice.identity.credentials import reset_sync_credentials
from airflow_provider_appservice.identity.tokens import LEDGER
from airflow_provider_appservice.testing import AppServiceEmulator


@dataclass
class World:
    """A tenant with one app and a staging slot, and identities of every kind."""

    emu: AppServiceEmulator
    tenant: Any
    subscription_id: str
    site: Any
    slot: Any

    @property
    def resource_group(self) -> str:
        return self.site.resource_group

    def conn(self, auth_type: str, **extra: Any) -> dict[str, Any]:
        """A connection's fields for an auth type, with subscription, RG and the emulator's CA."""
        login = extra.pop("login", None)
        password = extra.pop("password", None)
        body: dict[str, Any] = {
            "auth_type": auth_type,
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "ca_bundle": self.emu.ca_path,
            **extra,
        }
        if self.tenant is not None and auth_type != "managed_identity":
            body.setdefault("tenant_id", self.tenant.tenant_id)
        return {"login": login, "password": password, "extra": body}


@pytest.fixture
def world(emulator: AppServiceEmulator, monkeypatch: pytest.MonkeyPatch) -> World:
    emulator.reset()
    tenant = emulator.add_tenant()
    sub = emulator.add_subscription(tenant)
    site = emulator.add_site(sub, "rg-shop", "shop")
    slot = emulator.add_slot(site, "staging")
    reset_sync_credentials()
    LEDGER.reset()
    for var in ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"):
        monkeypatch.delenv(var, raising=False)
    return World(emulator, tenant, sub, site, slot)


@pytest.fixture
def use_conn(monkeypatch: pytest.MonkeyPatch):
    """Register a connection as AIRFLOW_CONN_<ID> for this test."""
    import json

    def register(conn_id: str, fields: dict[str, Any]) -> str:
        body = {"conn_type": "azure_app_service", **{k: v for k, v in fields.items() if v is not None}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(body))
        return conn_id

    return register


@pytest.fixture
def contributor(world, use_conn):
    """A service principal with Website Contributor on the subscription, as the default connection."""
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Website Contributor", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    return sp


@pytest.fixture
def emulator_clock(world: World):
    """Every wait of the provider on the emulator's clock: a swap's real-shaped ``Retry-After: 15``
    (and each poll's) costs no real time (docs/emulator.md, "Waits without waiting")."""
    from airflow_provider_appservice.clock import use_clock
    from airflow_provider_appservice.testing.clock import EmulatorClock

    with use_clock(EmulatorClock(world.emu)) as clock:
        yield clock
