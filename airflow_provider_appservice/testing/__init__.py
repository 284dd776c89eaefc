"""A local Azure for tests and demos: Entra ID, managed identity, ARM (Microsoft.Web/sites),
Key Vault and the sites' own hosts, reached by the real SDK clients over real TLS through a
loopback CONNECT proxy. Production code never imports this package.

    from airflow_provider_appservice.testing import AppServiceEmulator

    with AppServiceEmulator() as emu, emu.apply_env():
        ...
"""

from __future__ import annotations

from airflow_provider_appservice.testing.app_behaviour import Health, RequestInfo
from airflow_provider_appservice.testing.clock import EmulatorClock, FakeClock
from airflow_provider_appservice.testing.emulator import AppServiceEmulator
from airflow_provider_appservice.testing.faults import Fault
from airflow_provider_appservice.testing.journal import Request
from airflow_provider_appservice.testing.model import Principal, Site, Tenant
from airflow_provider_appservice.testing.world import seed_default_world

__all__ = [
    "AppServiceEmulator",
    "EmulatorClock",
    "FakeClock",
    "Fault",
    "Health",
    "Principal",
    "Request",
    "RequestInfo",
    "Site",
    "Tenant",
    "seed_default_world",
]
