"""`make demo`: run the example DAGs against the embedded emulator and print what happened.

Everything runs offline: the emulator serves Entra ID, the managed-identity endpoint, ARM and
Key Vault on loopback over real TLS, and the real Azure SDK talks to it. Airflow's own log
output goes to build/demo/airflow.log; this prints a short report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build" / "demo"


@contextlib.contextmanager
def quiet(log_path: Path) -> Iterator[None]:
    """Send Airflow's chatter (fd 1 and 2) to a log file while a DAG runs."""
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


def connection(fields: dict) -> str:
    return json.dumps({"conn_type": "azure_app_service", **fields})


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    BUILD.mkdir(parents=True, exist_ok=True)
    log_path = BUILD / "airflow.log"
    log_path.write_text("")
    home = Path(tempfile.mkdtemp(prefix="appservice-demo-home-"))
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    sys.path.insert(0, str(REPO))
    from airflow_provider_appservice.identity.tokens import LEDGER
    from airflow_provider_appservice.testing import AppServiceEmulator
    from airflow_provider_appservice.testing.world import seed_default_world
    from tests.support import load_dag, migrate_db, task_states, xcom_value

    started = time.monotonic()
    with AppServiceEmulator() as emu, emu.apply_env():
        world = seed_default_world(emu)
        base = {
            "subscription_id": world["subscription_id"],
            "resource_group": world["resource_group"],
            "ca_bundle": emu.ca_path,
        }
        os.environ["AIRFLOW_CONN_APPSERVICE_MI"] = connection({"extra": {"auth_type": "managed_identity", **base}})
        os.environ["AIRFLOW_CONN_APPSERVICE_KV"] = connection(
            {
                "login": world["sp_client_id"],
                "extra": {
                    "auth_type": "key_vault_service_principal",
                    "tenant_id": world["tenant_id"],
                    "key_vault_url": world["vault_url"],
                    "key_vault_secret_name": world["vault_secret_name"],
                    **base,
                },
            }
        )
        print(f"emulator up: {world['site_host']} (tenant {world['tenant_id']})")
        with quiet(log_path):
            migrate_db()
            dag = load_dag(REPO / "example_dags" / "read_app_state.py", "read_app_state")
        ok = True
        for conn_id, label in (("appservice_mi", "managed identity"), ("appservice_kv", "Key Vault-bootstrapped SP")):
            t0 = time.monotonic()
            with quiet(log_path):
                run = dag.test(run_conf={"app_name": world["site_name"], "conn_id": conn_id, "slot": None})
            states = task_states(run)
            value = xcom_value(run, "read") or {}
            ok &= states == {"read": "success"}
            print(
                f"read_app_state as {label:<26} -> {states['read']:<7} {value.get('name')} is "
                f"{value.get('state')} at {value.get('default_host_name')} ({time.monotonic() - t0:.1f}s)"
            )
        print("token requests per audience (emulator):")
        for audience in ("https://management.azure.com", "https://vault.azure.net", "api://AzureADTokenExchange"):
            print(f"  {audience:<32} {emu.token_requests(audience=audience)}")
        print("tokens seen per (identity, audience) in this process:")
        for (who, audience), count in sorted(LEDGER.counts().items()):
            print(f"  {who:<70} {audience:<30} {count}")
    print(f"{'SUCCESS' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s (Airflow log: {log_path})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
