"""No token or client secret the emulator issued appears in a DAG run's task log or XCom.

The probe DAG logs a token and raises an exception carrying one; the task log is what
the secrets masker lets through (see leak_runner.py). A positive control proves the scan
reads the right text: a planted canary, logged the same way as the token, must be found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_tokens_and_secrets_never_reach_output_or_xcom(tmp_path):
    out = tmp_path / "result.json"
    task_log = tmp_path / "task.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW_HOME"] = str(tmp_path / "home")
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(tmp_path / "dags")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("leak_runner.py")), str(out), str(task_log)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    output = proc.stdout + proc.stderr + task_log.read_text()
    result = json.loads(out.read_text())
    assert result["states"] == {"read_and_log": "success", "fail_with_token": "failed"}
    assert len(result["tokens"]) >= 1

    # Positive control: the canary was logged exactly like the token, and the scan finds it.
    assert result["canary"] in output
    assert "deliberate failure carrying" in output, "the exception text is part of what is scanned"

    leaked = [i for i, value in enumerate(result["tokens"] + result["secrets"]) if value in output]
    assert leaked == [], f"{len(leaked)} secret value(s) found in the run's output"
    assert not any(t in json.dumps(result["xcom"]) for t in result["tokens"]), "a token reached XCom"
