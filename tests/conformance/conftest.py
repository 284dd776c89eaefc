"""One emulator and one az interpreter for the whole conformance package.

az is not on the emulator's clock (it sleeps for real), so the swap pacing it sees keeps
Azure's shape — ``Retry-After`` in whole seconds, no ``retry-after-ms`` — with 1 s instead of 15.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_appservice.testing import AppServiceEmulator

from .harness import AZ_PYTHON, AzSession


@dataclass
class Conformance:
    emu: AppServiceEmulator
    tenant: Any
    subscription_id: str
    secret_principal: Any
    cert_principal: Any
    az: AzSession

    def app(self, prefix: str, kind: str = "app,linux", slot: bool = True) -> Any:
        """A fresh app in ``rg`` (with a ``staging`` slot), so tests share nothing."""
        site = self.emu.add_site(self.subscription_id, "rg", f"{prefix}-{uuid.uuid4().hex[:8]}", kind=kind)
        if slot:
            self.emu.add_slot(site, "staging")
        return site

    def journal(self, path_end: str, method: str | None = None) -> list[Any]:
        return [r for r in self.emu.requests if r.path.endswith(path_end) and method in (None, r.method)]


@pytest.fixture(scope="package")
def conformance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conformance]:
    if not AZ_PYTHON.exists():
        pytest.fail(f"{AZ_PYTHON} is missing: `make azcli` installs the Azure CLI (make test does)")
    emu = AppServiceEmulator().start()
    try:
        tenant = emu.add_tenant()
        sub = emu.add_subscription(tenant)
        secret_sp = emu.add_service_principal(tenant)
        cert_sp = emu.add_certificate_principal(tenant)
        for sp in (secret_sp, cert_sp):
            emu.assign_role(sp, "Contributor", f"/subscriptions/{sub}")
        emu.add_resource_group(sub, "rg")
        emu.lro_retry_after = 1
        emu.swap_duration_polls = 1
        root = tmp_path_factory.mktemp("azcli")
        with open(root / "driver.log", "w") as log:
            az = AzSession(emu, root / "config", log)
            try:
                az("login", "--service-principal", "-u", secret_sp.client_id, "-p", secret_sp.secret,
                   "--tenant", tenant.tenant_id).ok()  # fmt: skip
                yield Conformance(emu, tenant, sub, secret_sp, cert_sp, az)
            finally:
                az.close()
    finally:
        emu.stop()
