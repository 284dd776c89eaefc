"""`make demo`: the blue/green example DAG (``app_service_blue_green``) against the embedded
emulator, with a short report: every step of the group, and which build production serves.

Everything runs offline: the emulator serves Entra ID, the managed-identity endpoint, ARM,
Key Vault, Kudu and the app itself on loopback over real TLS, and the real Azure SDK talks to
it. The connection is a service principal whose secret Airflow never sees: the worker's
managed identity reads it from Key Vault at run time.

    make demo                          # healthy release: production ends on the new build
    make demo DEMO_ARGS=--unhealthy    # production fails its health gate: automatic rollback

Airflow's own log output goes to build/demo/airflow.log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build" / "demo"


@contextlib.contextmanager
def quiet(log_path: Path) -> Iterator[None]:
    """Send Airflow's chatter (fd 1 and 2) to a log file while the DAG runs."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)


def release_package(version: str) -> Path:
    package = BUILD / f"shop-{version}.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("BUILD", version)
        archive.writestr("app.py", f"print('shop {version}')\n")
    return package


def ending_message(log_path: Path) -> str | None:
    """The group's own words on how the release ended (the failing ending task's error)."""
    pattern = re.compile(r"(Production health gate failed after the swap.*?|Release of '.*?)(?: \[|\"|$)")
    for line in log_path.read_text(errors="replace").splitlines():
        found = pattern.search(line)
        if found:
            return found.group(1).strip()
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unhealthy", action="store_true", help="make production fail its health gate after the swap")
    args = parser.parse_args()
    BUILD.mkdir(parents=True, exist_ok=True)
    log_path = BUILD / "airflow.log"
    log_path.write_text("")
    home = Path(tempfile.mkdtemp(prefix="appservice-demo-home-"))
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        SHOP_BUILDS_DIR=str(BUILD),  # the example's package_root: the release package is built there
    )
    sys.path.insert(0, str(REPO))
    from airflow_provider_appservice.identity.tokens import LEDGER
    from airflow_provider_appservice.testing import AppServiceEmulator, Health
    from airflow_provider_appservice.testing.world import seed_default_world
    from tests.support import load_dag, migrate_db

    started = time.monotonic()
    with AppServiceEmulator() as emu, emu.apply_env():
        world = seed_default_world(emu)
        site_id = f"/subscriptions/{world['subscription_id']}/resourceGroups/{world['resource_group']}"
        site = emu.world.find_site(f"{site_id}/providers/Microsoft.Web/sites/{world['site_name']}")
        assert site is not None
        slot = site.slots[world["slot_name"]]
        emu.set_build(site, "v1")
        emu.set_build(slot, "v1")
        emu.deployment_behaviour(slot, polls=2)
        emu.lro_retry_after = 1  # swap polls keep Azure's Retry-After shape; the demo runs on the real clock
        if args.unhealthy:
            emu.set_health(site, "/healthz", Health.unhealthy())
        os.environ["AIRFLOW_CONN_AZURE_APP_SERVICE_DEFAULT"] = json.dumps(
            {
                "conn_type": "azure_app_service",
                "login": world["sp_client_id"],
                "extra": {
                    "auth_type": "key_vault_service_principal",
                    "tenant_id": world["tenant_id"],
                    "key_vault_url": world["vault_url"],
                    "key_vault_secret_name": world["vault_secret_name"],
                    "subscription_id": world["subscription_id"],
                    "resource_group": world["resource_group"],
                    "ca_bundle": emu.ca_path,
                },
            }
        )
        package = release_package("v2")
        print(f"app {world['site_name']} ({world['site_host']}), production on build v1; releasing v2 via staging")
        print(
            f"identity: service principal {world['sp_client_id']} (tenant {world['tenant_id']}); its secret is "
            f"read from {world['vault_url']} by the worker's managed identity, never stored in Airflow"
        )
        if args.unhealthy:
            print("scenario: production will fail its health gate after the swap")
        with quiet(log_path):
            migrate_db()
            dag = load_dag(REPO / "example_dags" / "blue_green_deploy.py", "blue_green_deploy")
            run = dag.test(
                run_conf={
                    "app_name": world["site_name"],
                    "package": str(package),
                    "health_path": "/healthz",
                    "probe_interval": 0.2,
                    "gate_timeout": 3,
                }
            )
        print("\nsteps:")
        order = [t.task_id for t in dag.topological_sort()]
        for ti in sorted(run.get_task_instances(), key=lambda ti: order.index(ti.task_id)):
            took = (ti.end_date - ti.start_date).total_seconds() if ti.start_date and ti.end_date else 0.0
            print(f"  {ti.task_id:<34} {ti.state!s:<10} {took:5.1f}s")
        print("\ntoken requests per audience (emulator):")
        for audience in ("https://management.azure.com", "https://appservice.azure.com", "https://vault.azure.net"):
            print(f"  {audience:<32} {emu.token_requests(audience=audience)}")
        print("  (ARM for ARM, App Service for Kudu: the ARM token never goes to a Kudu host)")
        print("  (one per identity and audience for the worker, plus one per trigger: dag.test() runs each")
        print("   trigger in its own event loop; a real triggerer shares one credential per loop)")
        print("distinct tokens per identity and audience (this process):")
        for (who, audience), count in sorted(LEDGER.counts().items()):
            print(f"  {who[:60]:<60} {audience:<30} {count}")
        production, staging = emu.build_of(site), emu.build_of(slot)
        ending = ending_message(log_path)
        if ending:
            print(f"\nending: {ending}")
    ok = str(run.state) == ("failed" if args.unhealthy else "success")
    outcome = f"run {run.state}: production serves {production}, staging holds {staging}" + (
        " (rolled back automatically)" if args.unhealthy and production == "v1" else ""
    )
    print(f"\n{'OK' if ok else 'UNEXPECTED'}: {outcome}; {time.monotonic() - started:.1f}s (Airflow log: {log_path})")
    return 0 if ok and production == ("v1" if args.unhealthy else "v2") else 1


if __name__ == "__main__":
    sys.exit(main())
