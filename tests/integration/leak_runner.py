"""Run the leak-probe DAG in a fresh process against an emulator with opaque tokens.

Writes what the parent test needs to scan for (issued tokens, the SP secret, the canary)
to a private file, never to stdout.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from airflow_provider_appservice.testing import AppServiceEmulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import load_dag, migrate_db, task_states


def main(out_path: str) -> None:
    with AppServiceEmulator(token_format="opaque") as emu, emu.apply_env():
        tenant = emu.add_tenant()
        sub = emu.add_subscription(tenant)
        emu.add_site(sub, "rg-leak", "shop")
        sp = emu.add_service_principal(tenant)
        emu.assign_role(sp, "Reader", f"/subscriptions/{sub}")
        os.environ["AIRFLOW_CONN_AZURE_APP_SERVICE_DEFAULT"] = json.dumps(
            {
                "conn_type": "azure_app_service",
                "login": sp.client_id,
                "password": sp.secret,
                "extra": {
                    "auth_type": "service_principal_secret",
                    "tenant_id": tenant.tenant_id,
                    "subscription_id": sub,
                    "resource_group": "rg-leak",
                    "ca_bundle": emu.ca_path,
                },
            }
        )
        migrate_db()
        canary = "canary-" + secrets.token_hex(12)
        dag = load_dag(Path(__file__).resolve().parents[1] / "dags" / "leak_probe.py", "leak_probe")
        run = dag.test(run_conf={"app_name": "shop", "canary": canary})
        from support import xcom_value

        result = {
            "states": task_states(run),
            "xcom": xcom_value(run, "read_and_log"),
            "tokens": emu.issued_tokens(),
            "secrets": [sp.secret],
            "canary": canary,
        }
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1])
