"""Blue/green deployment with an automatic rollback.

1. Deploy the package to the staging slot and wait until the deployment finishes.
2. Gate on staging's health (3 consecutive healthy answers).
3. Swap with preview: staging gets production's slot settings and warms up with them.
4. Complete the swap: staging's build now serves production.
5. Gate on production's health.
6. If the production gate fails: swap back automatically, then fail the run saying so.
   If an earlier step fails, nothing was swapped: the run fails without a rollback.

The waits (deployment, health gates, swap) defer to the triggerer. Every step runs with the
connection's identity; no publishing credentials, no long-lived secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowException

from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator
from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator
from airflow_provider_appservice.sensors.health import AppServiceHealthSensor

APP = "{{ params.app_name }}"


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
    health = {
        "app_name": APP,
        "path": "{{ params.health_path }}",
        "required_consecutive": 3,
        "probe_interval": "{{ params.probe_interval }}",
        "gate_timeout": "{{ params.gate_timeout }}",
        "deferrable": True,
    }
    deploy = AppServiceDeployOperator(
        task_id="deploy_to_staging",
        app_name=APP,
        slot="staging",
        package="{{ params.package }}",
        deferrable=True,
    )
    staging_healthy = AppServiceHealthSensor(
        task_id="staging_health_gate",
        slot="staging",
        **health,
    )
    preview = AppServiceSwapSlotsOperator(
        task_id="swap_with_preview",
        app_name=APP,
        source_slot="staging",
        target_slot="production",
        action="preview",
    )
    complete = AppServiceSwapSlotsOperator(
        task_id="complete_swap",
        app_name=APP,
        source_slot="staging",
        target_slot="production",
        action="complete",
        deferrable=True,
    )
    production_healthy = AppServiceHealthSensor(
        task_id="production_health_gate",
        slot="production",
        **health,
    )

    @task.branch(task_id="production_verdict", trigger_rule="all_done")
    def production_verdict(**context: Any) -> str:
        """Roll back only when the production gate itself failed (not when an earlier step did)."""
        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=["production_health_gate"], run_ids=[ti.run_id])
        gate = states.get(ti.run_id, {}).get("production_health_gate")
        if gate == "success":
            return "release_done"
        if gate == "failed":
            return "rollback_swap"
        return "release_aborted"

    rollback = AppServiceSwapSlotsOperator(
        task_id="rollback_swap",
        app_name=APP,
        source_slot="staging",
        target_slot="production",
        action="swap",
    )

    @task(task_id="fail_after_rollback")
    def fail_after_rollback(**context: Any) -> None:
        app = context["params"]["app_name"]
        raise AirflowException(
            f"Production health gate failed after the swap; swapped '{app}' back: production serves "
            "the previous build again and the new build is in the staging slot for inspection."
        )

    @task(task_id="release_aborted")
    def release_aborted(**context: Any) -> None:
        failed = [ti.task_id for ti in context["dag_run"].get_task_instances(state=["failed", "upstream_failed"])]
        raise AirflowException(
            f"Release stopped before production was verified ({', '.join(failed)}); nothing to roll back."
        )

    @task(task_id="release_done")
    def release_done(**context: Any) -> str:
        return f"{context['params']['app_name']}: new build in production and healthy"

    verdict = production_verdict()
    deploy >> staging_healthy >> preview >> complete >> production_healthy >> verdict
    verdict >> [release_done(), rollback, release_aborted()]
    rollback >> fail_after_rollback()


blue_green_deploy()
