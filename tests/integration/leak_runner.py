"""Run the leak-probe DAG in a fresh process against an emulator with opaque tokens.

``dag.test()`` prints task logs to the console unredacted (in a deployment the task
supervisor redacts each line with the secrets masker before it reaches the task log). So
the runner captures everything the run prints at the file-descriptor level and passes it
through the same masker, exactly as the supervisor would, then writes that "task log" and
what the parent needs to scan for (issued tokens, the SP secret, the canary) to private
files; nothing secret goes to stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from airflow_provider_appservice.testing import AppServiceEmulator

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for tests.support
from tests.support import load_dag, migrate_db, task_states, xcom_value


@contextlib.contextmanager
def capture_fds(path: str) -> Iterator[None]:
    """Send fd 1 and 2 to a file for the duration, then redact it like the supervisor does."""
    from airflow.sdk.log import redact

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    raw_fd, raw_path = tempfile.mkstemp()
    try:
        os.dup2(raw_fd, 1)
        os.dup2(raw_fd, 2)
        yield None
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(raw_fd)
    with open(raw_path, encoding="utf-8", errors="replace") as raw:
        text = raw.read()
    os.unlink(raw_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(str(redact(text)))


def rendered_fields() -> str:
    """Every rendered-field row the runs stored (what the UI shows), as JSON text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        return json.dumps([row.rendered_fields for row in session.query(RenderedTaskInstanceFields).all()])


def main(out_path: str, log_path: str) -> None:
    with AppServiceEmulator(token_format="opaque") as emu, emu.apply_env():
        tenant = emu.add_tenant()
        sub = emu.add_subscription(tenant)
        emu.add_site(sub, "rg-leak", "shop")
        sp = emu.add_service_principal(tenant)
        emu.assign_role(sp, "Reader", f"/subscriptions/{sub}")
        # Function keys: one passed in the path (?code=), one read from the connection's vault.
        function_keys = ["fk-canary-" + secrets.token_urlsafe(18) for _ in range(2)]
        fn = emu.add_site(sub, "rg-leak", "orders-fn", kind="functionapp,linux")
        emu.add_function(fn, "/api/orders", keys=function_keys)
        vault = emu.add_vault(tenant, "kvleak" + sub[:8])
        emu.set_secret(vault, "orders-fn-key", function_keys[1])
        emu.assign_role(sp, "Key Vault Secrets User", vault)
        os.environ["AIRFLOW_CONN_AZURE_APP_SERVICE_DEFAULT"] = json.dumps(
            {
                "conn_type": "azure_app_service",
                "login": sp.client_id,
                "password": sp.secret,
                "extra": {
                    "auth_type": "service_principal_secret",
                    "tenant_id": tenant.tenant_id,
                    "subscription_id": sub,
                    "resource_group": "rg-leak",
                    "ca_bundle": emu.ca_path,
                    "key_vault_url": vault,
                },
            }
        )
        migrate_db()
        canary = "canary-" + secrets.token_hex(12)
        dags = Path(__file__).resolve().parents[1] / "dags"
        dag = load_dag(dags / "leak_probe.py", "leak_probe")
        fk_dag = load_dag(dags / "function_keys.py", "function_key_calls")
        with capture_fds(log_path):
            run = dag.test(run_conf={"app_name": "shop", "canary": canary})
            fk_run = fk_dag.test(
                run_conf={"app_name": "orders-fn", "fkey": function_keys[0], "secret_name": "orders-fn-key"}
            )

        result = {
            "states": task_states(run),
            "xcom": xcom_value(run, "read_and_log"),
            "tokens": emu.issued_tokens(),
            "secrets": [sp.secret],
            "canary": canary,
            "function_keys": function_keys,
            "function_key_states": task_states(fk_run),
            "function_key_xcom": [xcom_value(fk_run, t) for t in ("key_in_path", "key_from_vault")],
            "rendered": rendered_fields(),
        }
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
