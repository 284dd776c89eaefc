"""Health gates with AppServiceHealthSensor (tests/integration/test_health_sensor.py), poked in
the worker and deferred to the trigger; everything but the counts and timeouts from params."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_appservice.sensors.health import AppServiceHealthSensor

PARAMS = {"app_name": "shop", "slot": "production", "path": "/healthz", "auth": "", "base_url": ""}


def gate_dag(dag_id: str, *, timeout: float, deferrable: bool = False, json_check: bool = False) -> DAG:
    with DAG(dag_id, schedule=None, params=PARAMS) as dag:
        AppServiceHealthSensor(
            task_id="gate",
            app_name="{{ params.app_name }}",
            slot="{{ params.slot }}",
            path="{{ params.path }}",
            auth="{{ params.auth }}",
            base_url="{{ params.base_url }}",
            required_consecutive=3,
            json_path="status" if json_check else None,
            equals="Healthy" if json_check else None,
            poke_interval=0.02,
            timeout=timeout,
            request_timeout=5,
            deferrable=deferrable,
        )
    return dag


health_gate = gate_dag("health_gate", timeout=20)
health_gate_short = gate_dag("health_gate_short", timeout=0.4)
health_gate_json_short = gate_dag("health_gate_json_short", timeout=0.4, json_check=True)
health_gate_deferred = gate_dag("health_gate_deferred", timeout=20, deferrable=True)
health_gate_deferred_short = gate_dag("health_gate_deferred_short", timeout=0.4, deferrable=True, json_check=True)


# Bad templated values, each refused before any request (the names of the cases are the task ids).
REFUSALS = {
    "absolute_path": {"path": "https://{{ params.other_host }}/healthz"},
    "scheme_relative_path": {"path": "//{{ params.other_host }}/healthz"},
    "zero_probe_interval": {"probe_interval": "{{ 0 }}"},
    "negative_gate_timeout": {"gate_timeout": "-1"},
    "text_probe_interval": {"probe_interval": "soon"},
    "deferred_absolute_path": {"path": "https://{{ params.other_host }}/healthz", "deferrable": True},
}

with DAG(
    "health_gate_refusals", schedule=None, params={**PARAMS, "other_host": "evil.example"}
) as health_gate_refusals:
    for task_id, bad in REFUSALS.items():
        AppServiceHealthSensor(
            task_id=task_id,
            **{"app_name": "{{ params.app_name }}", "poke_interval": 0.02, "timeout": 5, **bad},  # type: ignore[arg-type]
        )
