"""State waits with bounds (tests/integration/test_state_sensor.py): the deferred one stops at the
trigger's own deadline; ``target_state`` comes from params, so a misspelling can be rendered in."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_appservice.sensors.state import AppServiceStateSensor

PARAMS = {"app_name": "shop", "slot": "production", "target_state": "Stopped"}


def state_dag(dag_id: str, *, deferrable: bool) -> DAG:
    with DAG(dag_id, schedule=None, params=PARAMS) as dag:
        AppServiceStateSensor(
            task_id="wait",
            app_name="{{ params.app_name }}",
            slot="{{ params.slot }}",
            target_state="{{ params.target_state }}",
            deferrable=deferrable,
            poke_interval=30,
            timeout=600,
        )
    return dag


state_wait_deferred = state_dag("state_wait_deferred", deferrable=True)
state_wait_poked = state_dag("state_wait_poked", deferrable=False)
