"""The emulator now serves publishing credentials (for the Azure CLI); the provider must never
touch them. A canary password is planted, basic auth allowed, and a deployment runs through
dag.test(): no request for credentials, a publish profile or the basic-auth policies, only Entra
tokens on Kudu, and the canary nowhere in what the run printed."""

from __future__ import annotations

import secrets
import zipfile

import pytest

from airflow_provider_appservice.clock import use_clock
from airflow_provider_appservice.testing.clock import EmulatorClock

from ..support import REPO, load_dag, migrate_db, task_states

CREDENTIAL_PATHS = ("publishingcredentials", "publishxml", "basicpublishingcredentialspolicies")


@pytest.fixture(scope="module")
def deploy_dag():
    migrate_db()
    return load_dag(REPO / "tests" / "dags" / "deploy_package.py", "deploy_package")


def test_the_provider_never_reads_publishing_credentials(world, contributor, deploy_dag, tmp_path, capfd):
    canary = f"CANARY-{secrets.token_hex(16)}"
    for site in (world.site, world.slot):
        site.publishing_password = canary
        site.basic_auth_enabled = True  # allowed, so only the provider's choice keeps it on Entra
    package = tmp_path / "site.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("BUILD", "canary-v1")
    with use_clock(EmulatorClock(world.emu)):
        run = deploy_dag.test(run_conf={"app_name": "shop", "slot": "production", "package": str(package)})
    assert task_states(run) == {"deploy": "success"} and world.emu.build_of(world.site) == "canary-v1"
    touched = [r.path for r in world.emu.requests if any(p in r.path.lower() for p in CREDENTIAL_PATHS)]
    assert touched == []
    kudu = [r for r in world.emu.requests if r.kind == "scm"]
    assert kudu and all(r.bearer for r in kudu)
    out = capfd.readouterr()
    assert canary not in out.out + out.err
