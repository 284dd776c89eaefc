"""No token, client secret or function key appears in a DAG run's task log, XCom or rendered fields.

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

    # Function keys: one in the path (?code=), one from Key Vault; both reached the function
    # (it answers 401 without one), and the failing call's error and the audit line were printed.
    states = result["function_key_states"]
    assert states["key_in_path"] == states["key_from_vault"] == "success", states
    assert states["no_key"] == states["key_in_path_fails"] == "failed", states
    assert "AUDIT" in output and "/api/orders?code=***" in output, "positive control: the masked path is shown"
    assert "/api/orders?code=***&day=1" in result["rendered"], "positive control: rendered fields were read"

    secret_values = result["tokens"] + result["secrets"] + result["function_keys"]
    leaked = [i for i, value in enumerate(secret_values) if value in output]
    assert leaked == [], f"{len(leaked)} secret value(s) found in the run's output"
    xcoms = json.dumps([result["xcom"], result["function_key_xcom"]])
    assert not any(t in xcoms for t in secret_values), "a secret reached XCom"
    assert not any(t in result["rendered"] for t in secret_values), "a secret reached the rendered fields"
