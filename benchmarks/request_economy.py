"""Requests by kind (token, ARM, SCM, app, ...) for the blue/green example, a 5-minute deployment
and a slot swap, under real-shaped pacing on the emulator's clock (``EmulatorClock``): Kudu
takes 300 emulator seconds to finish, a swap answers ``Retry-After: 15`` (whole seconds) twice,
health gates probe every 10 s. Nothing sleeps for real. Budget (issue 14): <= 20 status requests
for the 5-minute deployment. Prints figures; asserts nothing.

    .ci/netguard .venv/bin/python benchmarks/request_economy.py [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]


def connection(world: dict[str, Any], ca_path: str) -> str:
    """The demo's connection: a service principal whose secret the worker reads from Key Vault."""
    return json.dumps(
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
                "ca_bundle": ca_path,
            },
        }
    )


def counted(emu: Any, run: Any) -> dict[str, Any]:
    """Requests by kind and status requests that ``run()`` caused, and the run's state."""
    before = len(emu.requests)
    state = str(run().state)
    seen = emu.requests[before:]
    status = [
        r
        for r in seen
        if (r.kind == "scm" and r.path.startswith("/api/deployments") and "/log" not in r.path)
        or (r.kind == "arm" and "/deploymentStatus/" in r.path)
    ]
    return {"state": state, "by_kind": dict(Counter(r.kind for r in seen)), "status_requests": len(status)}


def measure() -> dict[str, Any]:
    from demo import quiet, release_package

    from airflow_provider_appservice.clock import use_clock
    from airflow_provider_appservice.testing import AppServiceEmulator, EmulatorClock
    from airflow_provider_appservice.testing.world import seed_default_world
    from tests.support import load_dag, migrate_db

    log = Path(os.environ["AIRFLOW_HOME"]) / "economy.log"
    package = str(release_package("v2"))
    with AppServiceEmulator() as emu, emu.apply_env(), use_clock(EmulatorClock(emu)):
        world = seed_default_world(emu)
        site = emu.world.find_site(
            f"/subscriptions/{world['subscription_id']}/resourceGroups/{world['resource_group']}"
            f"/providers/Microsoft.Web/sites/{world['site_name']}"
        )
        assert site is not None, "the default world has its site"
        slot = site.slots[world["slot_name"]]
        emu.set_build(site, "v1")
        emu.set_build(slot, "v1")
        os.environ["AIRFLOW_CONN_AZURE_APP_SERVICE_DEFAULT"] = connection(world, emu.ca_path)
        conf = {"app_name": world["site_name"], "package": package}
        with quiet(log):
            migrate_db()
            blue_green = load_dag(REPO / "example_dags" / "blue_green_deploy.py", "blue_green_deploy")
            dags = {d: load_dag(REPO / "benchmarks" / "economy_dags.py", d) for d in ("bench_deploy", "bench_swap")}
            emu.deployment_behaviour(slot, polls=2)
            results = {
                "blue_green": counted(emu, lambda: blue_green.test(run_conf={**conf, "health_path": "/healthz"}))
            }
            emu.deployment_behaviour(slot, duration=300)
            results["deploy_5min"] = counted(emu, lambda: dags["bench_deploy"].test(run_conf=conf))
            results["swap"] = counted(emu, lambda: dags["bench_swap"].test(run_conf=conf))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="appservice-bench-economy-"))
    os.environ.update(
        AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"), AIRFLOW__CORE__LOAD_EXAMPLES="False"
    )
    results = measure()
    if "--json" in sys.argv:
        print(json.dumps(results))
        return
    for name, figure in results.items():
        print(f"{name:<12} {figure['state']:<8} status requests {figure['status_requests']:3d}  {figure['by_kind']}")


if __name__ == "__main__":
    main()
