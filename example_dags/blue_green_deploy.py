"""Blue/green deployment with an automatic rollback, as one task group.

``app_service_blue_green`` deploys the package to the staging slot, swaps with preview (staging
warms up with production's settings), gates on staging's health, completes the swap, then gates
on production's health. When that last gate fails it swaps back by itself and the run fails
saying which build production serves again; when an earlier step fails nothing is swapped and
the preview is cancelled. Every step is its own task in the grid, with its own log.

The waits (deployment, health gates, swap) defer to the triggerer. Every step runs with the
connection's identity; no publishing credentials, no long-lived secret. docs/blue-green.md
shows the same release built by hand from the operators.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import Param, dag

from airflow_provider_appservice.task_groups import app_service_blue_green

# Where this deployment's CI writes builds: a ``package`` given by whoever triggers a run must
# resolve inside it (not templated: the bound is the DAG author's). Unset: no bound.
BUILDS_DIR = os.environ.get("SHOP_BUILDS_DIR")
GATE = {"probe_interval": "{{ params.probe_interval }}", "gate_timeout": "{{ params.gate_timeout }}"}


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "app_name": Param("contoso-shop", type="string", description="The App Service app"),
        "package": Param("/srv/builds/shop.zip", type="string", description="Zip file or folder to deploy"),
        "health_path": Param("/healthz", type="string"),
        "probe_interval": Param(10.0, type="number", description="Seconds between health probes"),
        "gate_timeout": Param(300, type="integer", description="Seconds a health gate may take"),
    },
    tags=["azure-app-service", "example", "blue-green"],
)
def blue_green_deploy() -> None:
    app_service_blue_green(
        app_name="{{ params.app_name }}",
        package="{{ params.package }}",
        source_slot="staging",
        health_path="{{ params.health_path }}",
        staging_gate={"required_consecutive": 3, **GATE},
        production_gate={"required_consecutive": 5, **GATE},
        deferrable=True,
        deploy_kwargs={"package_root": BUILDS_DIR},
    )


blue_green_deploy()
