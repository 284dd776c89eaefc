"""One DAG per (family, mode) of the fault matrix: one task per fault cell, each on its own app.

The cells come from the JSON file named by ``FAULT_MATRIX_SPEC`` (written by
``tests/integration/test_fault_matrix.py`` before parsing); what each task raised is appended
to ``FAULT_MATRIX_OUT`` by an ``on_failure_callback``, so the test sees the exception's class
and text on every path (execute, poke, execute_complete after a trigger).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_appservice.operators.container import AppServiceDeployContainerOperator
from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator
from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator
from airflow_provider_appservice.operators.lifecycle import AppServiceRestartOperator, AppServiceStopOperator
from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator
from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator
from airflow_provider_appservice.sensors.deployment import AppServiceDeploymentSensor
from airflow_provider_appservice.sensors.health import AppServiceHealthSensor
from airflow_provider_appservice.sensors.state import AppServiceStateSensor

OPERATORS: dict[str, Any] = {
    "restart": AppServiceRestartOperator,
    "stop": AppServiceStopOperator,
    "state": AppServiceStateSensor,
    "endpoint": AppServiceEndpointOperator,
    "deploy": AppServiceDeployOperator,
    "swap": AppServiceSwapSlotsOperator,
    "preview": AppServiceSwapSlotsOperator,  # action="preview"
    "deployment": AppServiceDeploymentSensor,
    "settings": AppServiceUpdateAppSettingsOperator,
    "container": AppServiceDeployContainerOperator,
    "health": AppServiceHealthSensor,
}


def record_failure(context: Any) -> None:
    exc = context.get("exception")
    line = {"task_id": context["ti"].task_id, "error": type(exc).__name__, "message": str(exc)}
    with open(os.environ["FAULT_MATRIX_OUT"], "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def build(dag_id: str, cells: list[dict[str, Any]]) -> DAG:
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        for cell in cells:
            OPERATORS[cell["family"]](
                task_id=cell["task_id"], retries=0, on_failure_callback=record_failure, **cell["kwargs"]
            )
    return dag


_spec = os.environ.get("FAULT_MATRIX_SPEC")
if _spec and os.path.exists(_spec):
    with open(_spec, encoding="utf-8") as f:
        for _dag_id, _cells in json.load(f).items():
            globals()[_dag_id] = build(_dag_id, _cells)
