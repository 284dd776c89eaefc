"""A real Airflow cluster on loopback, pointed at the session's emulator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support import EXAMPLE_DAGS, REPO
from .cluster import AirflowCluster

SYSTEM_DAGS = [REPO / "tests" / "dags" / "deferred_state_wait.py", *sorted(EXAMPLE_DAGS.glob("*.py"))]


@pytest.fixture(scope="module")
def cluster_world(emulator) -> Iterator[dict]:
    """Seeded once per module: the cluster's processes read the connection at start."""
    tenant = emulator.add_tenant()
    sub = emulator.add_subscription(tenant)
    site = emulator.add_site(sub, "rg-sys", "sysapp")
    slot = emulator.add_slot(site, "staging")
    # Real Airflow processes sleep on the real clock: keep swap polls Azure-shaped but short.
    emulator.lro_retry_after = 1
    sp = emulator.add_service_principal(tenant)
    emulator.assign_role(sp, "Website Contributor", f"/subscriptions/{sub}")
    conn = {
        "conn_type": "azure_app_service",
        "login": sp.client_id,
        "password": sp.secret,
        "extra": {
            "auth_type": "service_principal_secret",
            "tenant_id": tenant.tenant_id,
            "subscription_id": sub,
            "resource_group": "rg-sys",
            "ca_bundle": emulator.ca_path,
        },
    }
    # Opaque tokens: Airflow's log redaction rewrites JWT-shaped strings, so only these can show a leak.
    emulator.token_format = "opaque"
    try:
        yield {"emu": emulator, "site": site, "slot": slot, "conn": conn}
    finally:
        emulator.token_format = "jwt"


def leaked_secrets(cluster: AirflowCluster, world: dict) -> list[str]:
    """Which secrets (the principal's client secret, every token the emulator issued) appear in any
    file the cluster wrote: scheduler, triggerer, API server and DAG processor logs and task logs."""
    secrets = {"client secret": world["conn"]["password"]}
    secrets |= {f"token …{t[-6:]}": t for t in world["emu"].issued_tokens() if len(t) >= 16}
    found = []
    for path in Path(cluster.home).rglob("*"):
        if not path.is_file() or path.suffix in (".db", ".pyc") or path.stat().st_size > 50_000_000:
            continue
        text = path.read_text(errors="replace")
        found += [f"{label} in {path.relative_to(cluster.home)}" for label, value in secrets.items() if value in text]
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, emulator, cluster_world) -> Iterator[AirflowCluster]:
    root = tmp_path_factory.mktemp("cluster")
    dags = root / "dags"
    dags.mkdir()
    for dag_file in SYSTEM_DAGS:
        shutil.copy(dag_file, dags / dag_file.name)
    env = {**emulator.env, "AIRFLOW_CONN_AZURE_APP_SERVICE_DEFAULT": json.dumps(cluster_world["conn"])}
    env["PYTHONPATH"] = str(REPO)
    airflow = AirflowCluster(root / "home", dags, env)
    try:
        yield airflow.start()
    finally:
        airflow.stop()


def _task_folder(cluster: AirflowCluster, dag_id: str, run_id: str, task_id: str) -> Path:
    return Path(cluster.home) / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"


def task_log(cluster: AirflowCluster, dag_id: str, run_id: str, task_id: str, trigger: bool = True) -> str:
    """The task's log files (worker, and the triggerer's unless ``trigger=False``) as one text."""
    files = sorted(p for p in _task_folder(cluster, dag_id, run_id, task_id).glob("*") if p.is_file())
    return "\n".join(p.read_text(errors="replace") for p in files if trigger or ".trigger." not in p.name)


def trigger_log_files(cluster: AirflowCluster, dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
    """``attempt=N.log.trigger.<triggerer job id>.log`` files: written only by a triggerer process."""
    folder = _task_folder(cluster, dag_id, run_id, task_id)
    return {p.name: p.read_text(errors="replace") for p in sorted(folder.glob("*.trigger.*.log"))}
