"""A real Airflow on loopback: api-server, scheduler, dag-processor and triggerer processes.

``dag.test()`` runs triggers inline in one process; this shows what only separate processes
show (serialisation of trigger kwargs, the triggerer's own event loop, a triggerer restart).
LocalExecutor and SQLite; every process in its own process group, stopped by PID with a bound.
The log servers are skipped (they would listen on every interface).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AirflowCluster:
    COMPONENTS = {
        "api-server": ["api-server", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"],
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer", "--skip-serve-logs"],
    }

    def __init__(self, home: Path, dags: Path, env: dict[str, str]) -> None:
        self.home = home
        self.dags = dags
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "PYTEST"))},
            **env,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        }
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self._token: str | None = None

    # --- processes ----------------------------------------------------------------------------
    def start(self) -> AirflowCluster:
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env,
            cwd=self.home,
            check=True,
            capture_output=True,
            timeout=300,
        )
        for name in self.COMPONENTS:
            self.start_component(name)
        self.wait_for(lambda: self._healthy(), 120, "all components healthy")
        return self

    def start_component(self, name: str) -> None:
        args = [a.format(port=self.port) for a in self.COMPONENTS[name]]
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    def stop_component(self, name: str, timeout: float = 20) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_component(name)

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- REST API ------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None) -> Any:
        if self._token is None:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/auth/token", timeout=10) as r:
                self._token = json.load(r)["access_token"]
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.load(r)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=5) as r:
                health = json.load(r)
        except OSError:
            return False
        return all(
            health.get(k, {}).get("status") == "healthy"
            for k in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(interval)
        tails = "\n".join(f"--- {n} ---\n{self.log(n)[-2500:]}" for n in self.COMPONENTS)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        self.wait_for(lambda: self._dag_known(dag_id), 120, f"DAG {dag_id} parsed")
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def _dag_known(self, dag_id: str) -> bool:
        try:
            return bool(self.api("GET", f"/api/v2/dags/{dag_id}"))
        except OSError:
            return False

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id)}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        data = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id)}/taskInstances")
        return {ti["task_id"]: ti for ti in data["task_instances"]}
