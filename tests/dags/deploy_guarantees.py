"""Deploy tasks built from a JSON spec, for the never-twice and bad-input tests
(``tests/integration/test_deploy_guarantees.py``).

``DEPLOY_GUARANTEES_SPEC`` names a file ``{dag_id: [{"task_id", "kwargs"}, ...]}`` written before
parsing; what each task raised goes to ``DEPLOY_GUARANTEES_OUT`` (one JSON line per failure),
so the test sees the class and text however the task failed. Tasks have no Airflow retries:
the tests drive retries themselves.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator


def record_failure(context: Any) -> None:
    exc = context.get("exception")
    line = {"task_id": context["ti"].task_id, "error": type(exc).__name__, "message": str(exc)}
    with open(os.environ["DEPLOY_GUARANTEES_OUT"], "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def build(dag_id: str, tasks: list[dict[str, Any]]) -> DAG:
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        for task in tasks:
            AppServiceDeployOperator(
                task_id=task["task_id"], retries=0, on_failure_callback=record_failure, **task["kwargs"]
            )
    return dag


_spec = os.environ.get("DEPLOY_GUARANTEES_SPEC")
if _spec and os.path.exists(_spec):
    with open(_spec, encoding="utf-8") as f:
        for _dag_id, _tasks in json.load(f).items():
            globals()[_dag_id] = build(_dag_id, _tasks)
