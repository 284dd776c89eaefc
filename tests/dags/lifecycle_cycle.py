"""Stop an app, wait for Stopped (deferred), start it, wait for Running (poked)."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.lifecycle import AppServiceStartOperator, AppServiceStopOperator
from airflow_provider_appservice.sensors.state import AppServiceStateSensor


@dag(schedule=None, params={"app_name": "shop", "slot": "production"})
def lifecycle_cycle() -> None:
    app = {"app_name": "{{ params.app_name }}", "slot": "{{ params.slot }}"}
    stop = AppServiceStopOperator(task_id="stop", **app)
    stopped = AppServiceStateSensor(
        task_id="stopped", target_state="Stopped", deferrable=True, poke_interval=0.05, timeout=30, **app
    )
    start = AppServiceStartOperator(task_id="start", **app)
    running = AppServiceStateSensor(task_id="running", target_state="Running", poke_interval=0.05, timeout=30, **app)
    stop >> stopped >> start >> running


lifecycle_cycle()
