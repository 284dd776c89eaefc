"""One deferrable wait long enough to watch it sit in the triggerer (and survive a restart)."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.sensors.state import AppServiceStateSensor


@dag(schedule=None, params={"app_name": "shop"})
def deferred_state_wait() -> None:
    AppServiceStateSensor(
        task_id="wait_until_stopped",
        app_name="{{ params.app_name }}",
        target_state="Stopped",
        deferrable=True,
        poke_interval=0.5,
        timeout=300,
    )


deferred_state_wait()
