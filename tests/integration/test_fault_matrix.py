"""The fault matrix: every operator and sensor family, in each mode it supports, x every fault
that applies to it, through ``dag.test()`` of real DAGs against the emulator.

Each cell runs on its own app (faults are scoped to that app's paths and hosts), so one DAG run
per (family, mode) carries all its cells. Each cell declares its outcome — the task succeeds
(after retries within its deadline), or fails with a class from ``docs/errors.md`` and a message
carrying the cause — and how many times its write may reach Azure: a non-idempotent call is
never sent twice after a failure that may have followed it. The same fault must get the same
class on every path; ``test_the_same_fault_gets_the_same_class_on_every_path`` checks that
across families. The run prints ``fault matrix: <passed>/<total> cells`` and its wall time.

Faults not modelled as cells, and why:
- "a response slower than the request timeout" is a cell only for the endpoint operator, whose
  timeout is a task argument; ARM and Kudu calls use azure-core's default read timeout, which a
  test cannot reach without real waiting.
- 409 deployment in progress, deployment failed, swap failed and Key Vault 403/404 live in
  the deploy, swap and identity suites (``test_deploy_operator.py``, ``test_swap_operator.py``,
  ``test_identity.py``); here the deploy family has the 409 and the failed deployment.
"""

from __future__ import annotations

import email.utils
import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_appservice.clock import use_clock
from airflow_provider_appservice.testing.clock import EmulatorClock

from ..support import REPO, load_dag, migrate_db, task_states

DAG_FILE = REPO / "tests" / "dags" / "fault_matrix.py"
RESULTS: dict[str, tuple[int, int, float]] = {}
CLASS_BY_FAULT: dict[str, set[str]] = {}


@dataclass
class Cell:
    """One fault on one family: how to inject it, what must happen, what may be sent."""

    fault: str
    inject: Callable[[Any, Any], None]  # (world, site) -> None
    state: str  # "success" | "failed"
    error: str | None = None  # class name when failed
    says: tuple[str, ...] = ()
    conn: str = "azure_app_service_default"
    writes: int | None = None  # how many times the write reached Azure (journal), when it matters
    no_app: bool = False  # target an app that does not exist
    kwargs: dict[str, Any] = field(default_factory=dict)


# -- faults, scoped to one app ------------------------------------------------------------------


def arm(path: str, method: str = "POST", **fault: Any) -> Callable[[Any, Any], None]:
    def inject(world: Any, site: Any) -> None:
        world.emu.fault(path=rf"/sites/{site.name}{path}", method=method, **fault)

    return inject


def app_host(method: str, **fault: Any) -> Callable[[Any, Any], None]:
    def inject(world: Any, site: Any) -> None:
        world.emu.fault(host=site.default_host_name, method=method, path=r"^/api/work$", **fault)

    return inject


def scm(**fault: Any) -> Callable[[Any, Any], None]:
    def inject(world: Any, site: Any) -> None:
        world.emu.fault(host=site.scm_host_name, method="POST", path=r"^/api/publish$", **fault)

    return inject


def nothing(world: Any, site: Any) -> None:
    return None


def http_date(seconds: float) -> str:
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


def shared_cells(write: str, method: str = "POST") -> list[Cell]:
    """Faults every ARM-backed family meets the same way: identity and permission."""
    return [
        Cell("404 app", nothing, "failed", "PermanentAzureError", ("HTTP 404",), no_app=True, writes=0),
        Cell("wrong secret", nothing, "failed", "AuthenticationFailed", ("AADSTS7000215",), conn="bad_secret", writes=0),
        Cell("Entra 5xx forever", nothing, "failed", "AuthenticationUnavailable", ("HTTP 503", "Entra ID is unavailable"), conn="entra_down", writes=0),
    ]  # fmt: skip


def restart_cells() -> list[Cell]:
    p = "/restart$"
    return [
        Cell("429 Retry-After seconds", arm(p, status=429, retry_after=1), "success", writes=2),
        Cell("429 Retry-After date", arm(p, status=429, retry_after=http_date(1)), "success", writes=2),
        Cell("500", arm(p, status=500), "failed", "AmbiguousOutcomeError", ("HTTP 500", "not re-sent"), writes=1),
        Cell("502", arm(p, status=502), "failed", "AmbiguousOutcomeError", ("HTTP 502",), writes=1),
        Cell("503 once", arm(p, status=503), "success", writes=2),
        Cell("504", arm(p, status=504), "failed", "AmbiguousOutcomeError", ("HTTP 504",), writes=1),
        Cell("reset before applied", arm(p, reset=True), "failed", "AmbiguousOutcomeError", (), writes=1),
        Cell("reset after applied", arm(p, reset=True, apply_then_fail=True), "failed", "AmbiguousOutcomeError", (), writes=1),
        Cell("503 forever", arm(p, status=503, times=None), "failed", "AzureRequestError", ("HTTP 503", "transient"), writes=4),
        Cell("403 AuthorizationFailed", nothing, "failed", "PermanentAzureError", ("AuthorizationFailed", "restart/action", "Website Contributor"), conn="reader", writes=1),
        *shared_cells("restart"),
    ]  # fmt: skip


def stop_cells() -> list[Cell]:
    p = "/stop$"
    return [
        Cell("429 Retry-After seconds", arm(p, status=429, retry_after=1), "success", writes=2),
        Cell("500 applied", arm(p, status=500, apply_then_fail=True), "success", writes=1),
        Cell("500 not applied", arm(p, status=500), "failed", "AmbiguousOutcomeError", ("Running",), writes=1),
        Cell("reset after applied", arm(p, reset=True, apply_then_fail=True), "success", writes=1),
        Cell("503 forever", arm(p, status=503, times=None), "failed", "AzureRequestError", ("HTTP 503",), writes=4),
        Cell("403 AuthorizationFailed", nothing, "failed", "PermanentAzureError", ("AuthorizationFailed", "stop/action"), conn="reader", writes=1),
        *shared_cells("stop"),
    ]  # fmt: skip


def state_cells() -> list[Cell]:
    p = "$"
    return [
        Cell("429 Retry-After seconds", arm(p, "GET", status=429, retry_after=1), "success"),
        Cell("500", arm(p, "GET", status=500), "success"),
        Cell("503 forever", arm(p, "GET", status=503, times=None), "failed", "AzureRequestError", ("HTTP 503",)),
        Cell("403 reader can read", nothing, "success", conn="reader"),
        *shared_cells("state", "GET"),
    ]  # fmt: skip


def endpoint_get_cells() -> list[Cell]:
    return [
        Cell("429 Retry-After seconds", app_host("GET", status=429, retry_after=1), "success", writes=2),
        Cell("429 Retry-After date", app_host("GET", status=429, retry_after=http_date(1)), "success", writes=2),
        Cell("500", app_host("GET", status=500), "success", writes=2),
        Cell("502", app_host("GET", status=502), "success", writes=2),
        Cell("504", app_host("GET", status=504), "success", writes=2),
        Cell("reset", app_host("GET", reset=True), "success", writes=2),
        Cell("slower than the timeout", app_host("GET", delay=1.5), "success", writes=2),
        Cell("503 forever", app_host("GET", status=503, times=None), "failed", "AzureRequestError", ("HTTP 503",), writes=4),
        *shared_cells("endpoint", "GET"),
    ]  # fmt: skip


def endpoint_post_cells() -> list[Cell]:
    return [
        Cell("429 Retry-After seconds", app_host("POST", status=429, retry_after=1), "success", writes=2),
        Cell("500", app_host("POST", status=500), "failed", "AmbiguousOutcomeError", ("HTTP 500",), writes=1),
        Cell("502", app_host("POST", status=502), "failed", "AmbiguousOutcomeError", ("HTTP 502",), writes=1),
        Cell("reset before applied", app_host("POST", reset=True), "failed", "AmbiguousOutcomeError", ("idempotency_key",), writes=1),
        Cell("reset after applied", app_host("POST", reset=True, apply_then_fail=True), "failed", "AmbiguousOutcomeError", (), writes=1),
        Cell("slower than the timeout", app_host("POST", delay=1.5), "failed", "AmbiguousOutcomeError", (), writes=1),
        Cell("keyed POST retried after 500", app_host("POST", status=500), "success", writes=2, kwargs={"idempotency_key": True}),
        *shared_cells("endpoint", "POST"),
    ]  # fmt: skip


def deploy_cells() -> list[Cell]:
    return [
        Cell("429 Retry-After seconds", scm(status=429, retry_after=1), "success", writes=2),
        Cell("503 once", scm(status=503), "success", writes=2),
        Cell("409 deployment in progress", scm(status=409, body="There is a deployment currently in progress."), "success", writes=2),
        Cell("500 after upload", scm(status=500, apply_then_fail=True), "failed", "AmbiguousOutcomeError", ("HTTP 500", "/api/deployments"), writes=1),
        Cell("502", scm(status=502), "failed", "AmbiguousOutcomeError", ("HTTP 502",), writes=1),
        Cell("reset after applied", scm(reset=True, apply_then_fail=True), "failed", "AmbiguousOutcomeError", ("/api/deployments",), writes=1),
        Cell("deployment failed", lambda w, s: w.emu.deployment_behaviour(s, outcome="failed", error="npm ERR! build"), "failed", "DeploymentFailed", ("npm ERR! build",), writes=1),
        Cell("403 AuthorizationFailed", nothing, "failed", "PermanentAzureError", ("AuthorizationFailed",), conn="reader", writes=0),  # refused by the ARM pre-check
        *shared_cells("deploy"),
    ]  # fmt: skip


FAMILIES: dict[str, tuple[str, Callable[[], list[Cell]], dict[str, Any]]] = {
    # dag id: (operator family, cells, task kwargs shared by every cell)
    "matrix_restart": ("restart", restart_cells, {}),
    "matrix_stop": ("stop", stop_cells, {}),
    "matrix_state_poke": ("state", state_cells, {"target_state": "Running", "poke_interval": 0.05, "timeout": 20}),
    "matrix_state_deferred": ("state", state_cells, {"target_state": "Running", "poke_interval": 0.05, "timeout": 20, "deferrable": True}),
    "matrix_endpoint_get": ("endpoint", endpoint_get_cells, {"method": "GET", "path": "/api/work", "request_timeout": 1}),
    "matrix_endpoint_post": ("endpoint", endpoint_post_cells, {"method": "POST", "path": "/api/work", "json": {"n": 1}, "request_timeout": 1}),
    "matrix_deploy": ("deploy", deploy_cells, {}),
}  # fmt: skip


def writes_of(world: Any, family: str, site: Any, kwargs: dict[str, Any]) -> int:
    requests = world.emu.requests
    if family in ("restart", "stop"):
        return sum(1 for r in requests if r.method == "POST" and r.path.endswith(f"/sites/{site.name}/{family}"))
    if family == "endpoint":
        return sum(1 for r in requests if r.host == site.default_host_name and r.path == "/api/work")
    if family == "deploy":
        return sum(1 for r in requests if r.host == site.scm_host_name and r.path == "/api/publish")
    return 0


@pytest.fixture(scope="module")
def matrix_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("matrix")


@pytest.fixture
def identities(world, use_conn):
    emu = world.emu
    contributor = emu.add_service_principal(world.tenant)
    emu.assign_role(contributor, "Website Contributor", f"/subscriptions/{world.subscription_id}")
    reader = emu.add_service_principal(world.tenant)
    emu.assign_role(reader, "Reader", f"/subscriptions/{world.subscription_id}")
    fast = {"retry_max_delay_seconds": 1}
    use_conn(
        "azure_app_service_default",
        world.conn("service_principal_secret", login=contributor.client_id, password=contributor.secret, **fast),
    )
    use_conn("reader", world.conn("service_principal_secret", login=reader.client_id, password=reader.secret, **fast))
    use_conn(
        "bad_secret",
        world.conn("service_principal_secret", login=contributor.client_id, password="not-the-secret", **fast),
    )
    # Entra ID down for one tenant only: its token path carries the tenant id.
    down = emu.add_tenant()
    sub = emu.add_subscription(down)
    victim = emu.add_service_principal(down)
    emu.assign_role(victim, "Website Contributor", f"/subscriptions/{sub}")
    use_conn(
        "entra_down",
        {
            **world.conn("service_principal_secret", login=victim.client_id, password=victim.secret, **fast),
            "extra": {
                **world.conn("service_principal_secret", **fast)["extra"],
                "tenant_id": down.tenant_id,
                "subscription_id": sub,
            },
        },
    )
    emu.fault(kind="token", path=down.tenant_id, status=503, times=None)


@pytest.mark.parametrize("dag_id", list(FAMILIES))
def test_fault_matrix(dag_id, world, identities, matrix_dir, monkeypatch, tmp_path, capsys):
    family, make_cells, shared = FAMILIES[dag_id]
    cells = make_cells()
    package = tmp_path / "site.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("BUILD", "matrix\n")
    package.write_bytes(buf.getvalue())

    spec, sites = [], {}
    for n, cell in enumerate(cells):
        task_id = f"c{n:02d}"
        name = f"m-{dag_id.removeprefix('matrix_').replace('_', '-')}-{n:02d}"
        site = world.emu.add_site(world.subscription_id, world.resource_group, name)
        if family == "endpoint":
            world.emu.add_app_route(site, "*", "/api/work", lambda r: (200, {}, {"ok": True}))
        sites[task_id] = site
        kwargs = {**shared, **cell.kwargs, "app_name": "no-such-app" if cell.no_app else name}
        kwargs["azure_app_service_conn_id"] = cell.conn
        if family == "deploy":
            kwargs.update(package=str(package), poll_interval=1)
        spec.append({"task_id": task_id, "family": family, "kwargs": kwargs})
    for cell, task_id in zip(cells, sites, strict=True):
        cell.inject(world, sites[task_id])

    spec_file, out_file = matrix_dir / f"{dag_id}.json", matrix_dir / f"{dag_id}.out"
    spec_file.write_text(json.dumps({dag_id: spec}))
    out_file.write_text("")
    monkeypatch.setenv("FAULT_MATRIX_SPEC", str(spec_file))
    monkeypatch.setenv("FAULT_MATRIX_OUT", str(out_file))
    migrate_db()
    dag = load_dag(DAG_FILE, dag_id)

    started = time.monotonic()
    with use_clock(EmulatorClock(world.emu)):  # every hook's clock: waits cost no real time
        run = dag.test()
    wall = time.monotonic() - started
    states = task_states(run)
    raised = {d["task_id"]: d for d in map(json.loads, filter(None, out_file.read_text().splitlines()))}

    problems = []
    for cell, task_id in zip(cells, sites, strict=True):
        got = raised.get(task_id)
        why = []
        if states.get(task_id) != cell.state:
            why.append(f"state {states.get(task_id)} (expected {cell.state})")
        if cell.error and (got is None or got["error"] != cell.error):
            why.append(f"raised {got and got['error']} (expected {cell.error})")
        for fragment in cell.says:
            if got is None or fragment not in got["message"]:
                why.append(f"message lacks {fragment!r}")
        if cell.writes is not None:
            sent = writes_of(world, family, sites[task_id], spec[0]["kwargs"])
            if sent != cell.writes:
                why.append(f"write reached Azure {sent} time(s) (expected {cell.writes})")
        if got is not None:
            CLASS_BY_FAULT.setdefault(cell.fault, set()).add(got["error"])
        if why:
            problems.append(
                f"{dag_id} / {cell.fault}: " + "; ".join(why) + (f" — {got['message'][:300]}" if got else "")
            )
    passed = len(cells) - len(problems)
    RESULTS[dag_id] = (passed, len(cells), wall)
    with capsys.disabled():
        total = sum(t for _, t, _ in RESULTS.values())
        done = sum(p for p, _, _ in RESULTS.values())
        print(f"\nfault matrix: {dag_id} {passed}/{len(cells)} cells in {wall:.1f}s; so far {done}/{total} cells")
    assert not problems, "\n".join(problems)


def test_the_same_fault_gets_the_same_class_on_every_path():
    if not RESULTS:
        pytest.skip("run with the matrix")
    shared = {"404 app", "wrong secret", "Entra 5xx forever", "503 forever"}
    mixed = {fault: classes for fault, classes in CLASS_BY_FAULT.items() if fault in shared and len(classes) > 1}
    assert not mixed, mixed
    print(
        f"\nfault matrix: {sum(p for p, _, _ in RESULTS.values())}/{sum(t for _, t, _ in RESULTS.values())} cells passed"
    )
