"""`airflow connections test <id>` against the emulator, as a platform engineer runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .identities import AUTH_CASES, setup_identity


def airflow_connections_test(fields: dict, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    body = {"conn_type": "azure_app_service", **{k: v for k, v in fields.items() if v is not None}}
    env = {**os.environ, **(extra_env or {}), "AIRFLOW_CONN_APPSVC_CLI": json.dumps(body)}
    env["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"
    return subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "test", "appsvc_cli"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


CLI_CASES = [c for c in AUTH_CASES if c[1] in ("", "secret", "pkcs12")]


@pytest.mark.parametrize(("auth_type", "variant"), CLI_CASES, ids=[a for a, _ in CLI_CASES])
def test_cli_connection_test_succeeds_for_each_auth_type(world, monkeypatch, auth_type, variant):
    fields = setup_identity(world, auth_type, monkeypatch, variant)
    extra_env = {k: os.environ[k] for k in ("AZURE_FEDERATED_TOKEN_FILE",) if k in os.environ}
    result = airflow_connections_test(fields, extra_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Connection success!" in result.stdout


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("password", "not-the-secret", "AADSTS7000215"),
        ("tenant_id", "00000000-0000-0000-0000-00000000dead", "does not know tenant"),
    ],
    ids=["wrong-secret", "wrong-tenant"],
)
def test_cli_connection_test_fails_with_one_clear_line(world, monkeypatch, field, value, code):
    fields = setup_identity(world, "service_principal_secret", monkeypatch)
    if field == "password":
        fields["password"] = value
    else:
        fields["extra"][field] = value
    result = airflow_connections_test(fields)
    assert result.returncode == 1
    assert "Connection failed!" in result.stdout
    # The hook returns one line (checked in test_identity); Airflow's console wraps it at 200 columns.
    reason = " ".join(result.stdout.split("Connection failed!", 1)[1].split())
    assert reason.startswith("Authentication failed for service_principal_secret:"), reason
    assert code in reason and "Check" in reason
    assert "Traceback" not in result.stdout + result.stderr
    assert "not-the-secret" not in result.stdout + result.stderr
