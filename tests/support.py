"""Helpers shared by the integration tests: run real DAGs with dag.test() against the emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"


def conn_env(conn_id: str, **fields: Any) -> dict[str, str]:
    """The ``AIRFLOW_CONN_<ID>`` variable for a connection given as JSON fields."""
    body = {"conn_type": "azure_app_service", **{k: v for k, v in fields.items() if v is not None}}
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(body)}


def migrate_db() -> None:
    """Create the throwaway Airflow metadata DB (SQLite) of this test session once."""
    marker = Path(os.environ["AIRFLOW_HOME"]) / ".migrated"
    if marker.exists():
        return
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        timeout=300,
        env=os.environ.copy(),
    )
    marker.touch()


def load_dag(dag_file: Path, dag_id: str) -> Any:
    """Put a DAG file into the session's dags folder and parse it like Airflow does."""
    from airflow.dag_processing.dagbag import DagBag

    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(dag_file, folder / dag_file.name)
    bag = DagBag(dag_folder=str(folder / dag_file.name))
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    assert dag is not None, f"{dag_id} not found in {dag_file}"
    return dag


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def xcom_value(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def spy_errors(monkeypatch: Any, operator: type) -> dict[str, str]:
    """What each task of ``operator``'s class raised, by task id (a spy around ``execute``; the
    task still fails), so a test can read a failure's message without parsing the log."""
    seen: dict[str, str] = {}
    original = operator.execute  # type: ignore[attr-defined]

    def execute(self: Any, context: Any) -> Any:
        try:
            return original(self, context)
        except Exception as exc:
            seen[self.task_id] = f"{type(exc).__name__}: {exc}"
            raise

    monkeypatch.setattr(operator, "execute", execute)
    return seen
