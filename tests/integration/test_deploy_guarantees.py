"""The deploy operator's input and its never-twice promise, through real DAG runs on the emulator.

- Bad input (timeouts, types, packages, ``package_root``) fails before any request: the
  emulator's journal stays empty for the whole run, and each error names the argument.
- A rerun of a task whose deployment succeeded is tied to the package's content: the same
  content is not deployed again (the log says so), new content is.
- Kill points: a task runner SIGKILLed before the upload, mid-upload, right after Kudu's 202
  (before the id is stored) and while tracking; the retry (the next try of the same task
  instance, same task state store) leaves exactly one deployment of the package, and either
  reconnects, uploads once, or fails with an ambiguity message saying what to check.

The kill is exact without sleeping: try 1 runs ``dag.test()`` in a subprocess whose provider
function at the kill point is wrapped to SIGKILL its own process there (the same death a
worker's ``kill -9`` gives; the kernel closes its connections unfinished).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_appservice.clock import use_clock
from airflow_provider_appservice.testing.clock import EmulatorClock

from ..support import REPO, load_dag, migrate_db, task_states

DAG_FILE = REPO / "tests" / "dags" / "deploy_guarantees.py"


@pytest.fixture
def clock(world):
    with use_clock(EmulatorClock(world.emu)) as c:
        yield c


def zip_bytes(build: str, size: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("BUILD", build + "\n")
        if size:
            zf.writestr("blob.bin", os.urandom(size))
    return buf.getvalue()


def dags_from(spec: dict[str, list[dict[str, Any]]], tmp_path: Path, monkeypatch) -> dict[str, Any]:
    spec_file, out = tmp_path / "spec.json", tmp_path / "failures.jsonl"
    spec_file.write_text(json.dumps(spec))
    out.write_text("")
    monkeypatch.setenv("DEPLOY_GUARANTEES_SPEC", str(spec_file))
    monkeypatch.setenv("DEPLOY_GUARANTEES_OUT", str(out))
    migrate_db()
    return {dag_id: load_dag(DAG_FILE, dag_id) for dag_id in spec}


def failures(tmp_path: Path) -> dict[str, dict[str, str]]:
    lines = (tmp_path / "failures.jsonl").read_text().splitlines()
    return {d["task_id"]: d for d in map(json.loads, filter(None, lines))}


def next_try(dag: Any, task_id: str) -> Any:
    """What the scheduler does for a retry (after the heartbeat timeout) or a clear: the same
    task instance, its task state store kept, try_number + 1, run with dag.test's own runner."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        dr = session.query(DagRun).filter_by(dag_id=dag.dag_id).order_by(DagRun.id.desc()).first()
        ti = dr.get_task_instance(task_id, session=session)
        ti.state = TaskInstanceState.SCHEDULED
        ti.try_number += 1
        session.merge(ti)
        session.commit()
        session.refresh(ti)
        session.expunge(ti)
    result = _run_task(ti=ti, task=dag.task_dict[task_id], run_triggerer=True)
    assert result is not None
    return result.ti.state


# -- bad input: refused before any request -----------------------------------------------------------


def bad_inputs(tmp_path: Path) -> list[tuple[str, dict[str, Any], str, str]]:
    """(task id, kwargs, the argument the error names, a fragment of the problem)."""
    good = tmp_path / "good.zip"
    good.write_bytes(zip_bytes("good"))
    empty_dir = tmp_path / "empty"
    (empty_dir / "only" / "folders").mkdir(parents=True)
    not_zip = tmp_path / "site.zip"
    not_zip.write_text("this is not a zip")
    war = tmp_path / "app.war"
    war.write_text("not a war either")
    blob = tmp_path / "app.bin"
    blob.write_bytes(b"\x00" * 100)
    empty_file = tmp_path / "empty.zip"
    empty_file.write_bytes(b"")
    fifo = tmp_path / "pipe.zip"
    os.mkfifo(fifo)
    root = tmp_path / "builds"
    root.mkdir()
    (root / "inside.zip").write_bytes(zip_bytes("inside"))
    (root / "escape.zip").symlink_to(good)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "app.py").write_text("print(1)\n")
    (linked / "secrets").symlink_to("/etc/hostname")
    (tmp_path / "x.tar.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    package = str(good)
    return [
        ("timeout_zero", {"package": package, "timeout": "0"}, "timeout", "above 0"),
        ("timeout_negative", {"package": package, "timeout": "-5"}, "timeout", "above 0"),
        ("timeout_nan", {"package": package, "timeout": "nan"}, "timeout", "above 0"),
        ("timeout_text", {"package": package, "timeout": "soon"}, "timeout", "not a number"),
        ("poll_zero", {"package": package, "poll_interval": "0"}, "poll_interval", "above 0"),
        ("poll_negative", {"package": package, "poll_interval": -1}, "poll_interval", "above 0"),
        ("type_unknown", {"package": package, "type": "tarball"}, "type", "not a OneDeploy type"),
        ("folder_as_war", {"package": str(linked.parent / "empty"), "type": "war"}, "type", "single file"),
        ("empty_folder", {"package": str(empty_dir)}, "package", "holds no files"),
        ("not_a_zip_inferred", {"package": str(not_zip)}, "package", "not a zip archive"),
        ("not_a_zip_given", {"package": str(blob), "type": "zip"}, "package", "not a zip archive"),
        ("war_not_a_zip", {"package": str(war)}, "package", "not a zip archive"),
        ("empty_file", {"package": str(empty_file)}, "package", "empty (0 bytes)"),
        ("proc_environ", {"package": "/proc/self/environ", "type": "static"}, "package", "system file"),
        ("dev_null", {"package": "/dev/null", "type": "static"}, "package", "system file"),
        ("fifo", {"package": str(fifo)}, "package", "not a regular file"),
        ("missing", {"package": str(tmp_path / "nope.zip")}, "package", "cannot be read"),
        ("plain_http", {"package": "http://example.invalid/p.zip"}, "package", "not https"),
        ("tarball", {"package": str(tmp_path / "x.tar.gz")}, "package", "Repackage it as a zip"),
        ("outside_root", {"package": package, "package_root": str(root)}, "package", "outside package_root"),
        ("link_out_of_root", {"package": str(root / "escape.zip"), "package_root": str(root)}, "package", "outside"),
        ("proc_in_root", {"package": "/proc/self/environ", "package_root": str(root)}, "package", "outside"),
        ("root_missing", {"package": package, "package_root": str(tmp_path / "no-root")}, "package_root", "not a folder"),
        ("folder_link_out", {"package": str(linked)}, "package", "symlink 'secrets' points outside"),
    ]  # fmt: skip


def test_bad_input_fails_before_any_request_naming_the_argument(world, contributor, tmp_path, monkeypatch, capfd):
    cases = bad_inputs(tmp_path)
    tasks = [{"task_id": t, "kwargs": {"app_name": "shop", **kw}} for t, kw, _, _ in cases]
    dag = dags_from({"deploy_bad_inputs": tasks}, tmp_path, monkeypatch)["deploy_bad_inputs"]
    mark = len(world.emu.requests)
    run = dag.test()
    sent = world.emu.requests[mark:]
    assert sent == [], [(r.method, r.host, r.path) for r in sent]
    states, raised = task_states(run), failures(tmp_path)
    problems = []
    for task_id, _, argument, fragment in cases:
        got = raised.get(task_id)
        if states.get(task_id) != "failed" or got is None:
            problems.append(f"{task_id}: state {states.get(task_id)}, raised {got}")
        elif got["error"] != "TaskArgumentError" or f"Argument '{argument}'" not in got["message"]:
            problems.append(f"{task_id}: {got['error']}: {got['message']}")
        elif fragment not in got["message"] or "Fix:" not in got["message"]:
            problems.append(f"{task_id}: lacks {fragment!r}: {got['message']}")
    assert not problems, "\n".join(problems)
    assert len(cases) >= 24
    text = "".join(capfd.readouterr())
    assert "TaskArgumentError" in text, "positive control: the run's output is read"


def test_a_package_inside_package_root_and_links_within_a_folder_deploy(
    world, contributor, clock, tmp_path, monkeypatch
):
    root = tmp_path / "builds"
    site_dir = root / "site"
    (site_dir / "static").mkdir(parents=True)
    (site_dir / "BUILD").write_text("rooted\n")
    (site_dir / "static" / "index.html").write_text("<h1>hi</h1>")
    (site_dir / "index.html").symlink_to(site_dir / "static" / "index.html")  # inside: followed
    (site_dir / "assets").symlink_to(site_dir / "static")  # a folder link inside: skipped
    tasks = [{"task_id": "deploy", "kwargs": {"app_name": "shop", "package": str(site_dir), "package_root": str(root)}}]
    dag = dags_from({"deploy_rooted": tasks}, tmp_path, monkeypatch)["deploy_rooted"]
    run = dag.test()
    assert task_states(run) == {"deploy": "success"}, failures(tmp_path)
    (dep,) = world.emu.deployments(world.site)
    with zipfile.ZipFile(dep.package_path) as zf:
        names = sorted(zf.namelist())
        assert zf.read("index.html") == b"<h1>hi</h1>"
    assert names == ["BUILD", "index.html", "static/index.html"]
    assert world.emu.build_of(world.site) == "rooted"


# -- reruns: tied to the package's content --------------------------------------------------------------


def test_a_rerun_deploys_new_content_and_not_the_same_content_twice(
    world, contributor, clock, tmp_path, monkeypatch, capfd
):
    package = tmp_path / "site.zip"
    package.write_bytes(zip_bytes("v1"))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "BUILD").write_text("f1\n")
    folder_site = world.emu.add_site(world.subscription_id, world.resource_group, "folder-app")
    tasks = [
        {"task_id": "file", "kwargs": {"app_name": "shop", "package": str(package)}},
        {"task_id": "folder", "kwargs": {"app_name": "folder-app", "package": str(folder)}},
    ]
    dag = dags_from({"deploy_rerun": tasks}, tmp_path, monkeypatch)["deploy_rerun"]
    run = dag.test()
    assert task_states(run) == {"file": "success", "folder": "success"}
    assert len(world.emu.deployments(world.site)) == 1 and len(world.emu.deployments(folder_site)) == 1
    capfd.readouterr()

    # The same content (the folder's files rewritten with new times): not deployed again.
    (folder / "BUILD").write_text("f1\n")
    os.utime(folder / "BUILD", (1, 1))
    assert next_try(dag, "file") == "success" and next_try(dag, "folder") == "success"
    assert len(world.emu.deployments(world.site)) == 1 and len(world.emu.deployments(folder_site)) == 1
    text = "".join(capfd.readouterr())
    assert text.count("not deploying again") == 2, text[-3000:]
    assert "state-store/appservice_deployment" in text and "DELETE /api/v2/dags/deploy_rerun/dagRuns/" in text

    # New content: deployed.
    package.write_bytes(zip_bytes("v2"))
    (folder / "BUILD").write_text("f2\n")
    assert next_try(dag, "file") == "success" and next_try(dag, "folder") == "success"
    assert len(world.emu.deployments(world.site)) == 2 and len(world.emu.deployments(folder_site)) == 2
    assert world.emu.build_of(world.site) == "v2" and world.emu.build_of(folder_site) == "f2"
    assert "is not what the stored deployment" in "".join(capfd.readouterr())


# -- kill points ------------------------------------------------------------------------------------------

KILL_RUNNER = """
import json, os, signal, sys
from datetime import datetime
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.support import load_dag

import airflow_provider_appservice.operations.deploy as deploy
import airflow_provider_appservice.operations.deploy_tracking as deploy_tracking
import airflow_provider_appservice.operations.packages as packages


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def read_then_die(self, size=-1, read=packages.StreamingReader.read):
    if self.sent >= packages.CHUNK:  # the first 64 KiB went to the connection
        die()
    return read(self, size)


def send_then_die(self, send=deploy._Publish.send):
    send(self)  # Kudu answered 202; its id is not stored yet
    die()


def arm(point):
    if point == "before_upload":  # the intent is stored, nothing sent yet
        deploy.upload = die
    elif point == "mid_upload":
        packages.StreamingReader.read = read_then_die
    elif point == "after_202":
        deploy._Publish.send = send_then_die
    elif point == "tracking":  # the id is stored; tracking begins
        deploy_tracking.track = die


# Airflow is imported and the DAGs parsed once; each kill point runs in a fork of this process
# (a task runner is a fork too) and SIGKILLs itself at its point.
dags = {{point: load_dag(Path({dag_file!r}), "deploy_kill_" + point) for point in {points!r}}}
ended = {{}}
for point, dag in dags.items():
    pid = os.fork()
    if pid == 0:
        arm(point)
        dag.test(logical_date=datetime.fromisoformat("2026-03-01T00:00:00+00:00"))
        os._exit(0)
    ended[point] = os.waitpid(pid, 0)[1]
print("ENDED " + json.dumps({{p: os.WIFSIGNALED(s) and os.WTERMSIG(s) for p, s in ended.items()}}))
"""

#: kill point -> (what try 1 leaves in Kudu, the retry's state, what the retry's log says)
KILL_POINTS = {
    "before_upload": (0, "success", "uploaded again"),
    "mid_upload": (0, "success", "uploaded again"),
    "after_202": (1, "failed", "Kudu has received 1 deployment(s) since"),
    "tracking": (1, "success", "Reconnecting"),
}


def test_a_deploy_killed_at_each_point_is_published_once(world, contributor, clock, tmp_path, monkeypatch, capfd):
    sites, spec = {}, {}
    for point in KILL_POINTS:
        app = f"kill-{point.replace('_', '-')}"
        sites[point] = world.emu.add_site(world.subscription_id, world.resource_group, app)
        world.emu.deployment_behaviour(sites[point], polls=2)
        package = tmp_path / f"{point}.zip"
        package.write_bytes(zip_bytes(point, size=512 * 1024))
        kwargs = {"app_name": app, "package": str(package), "poll_interval": 1}
        spec[f"deploy_kill_{point}"] = [{"task_id": "deploy", "kwargs": kwargs}]
    dags = dags_from(spec, tmp_path, monkeypatch)
    code = KILL_RUNNER.format(repo=str(REPO), dag_file=str(DAG_FILE), points=list(KILL_POINTS))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)

    out = proc.stdout.decode()
    assert proc.returncode == 0 and "ENDED" in out, out[-2000:] + proc.stderr.decode()[-3000:]
    ended = json.loads(out.split("ENDED ", 1)[1].splitlines()[0])
    assert ended == dict.fromkeys(KILL_POINTS, 9), ("each try 1 died by SIGKILL", ended)
    left = {point: len(world.emu.deployments(sites[point])) for point in KILL_POINTS}
    assert left == {point: v[0] for point, v in KILL_POINTS.items()}, "what try 1 left in Kudu"

    problems = []
    for point, (_, retry_state, says) in KILL_POINTS.items():
        capfd.readouterr()
        state = next_try(dags[f"deploy_kill_{point}"], "deploy")
        text = "".join(capfd.readouterr())
        deployments = world.emu.deployments(sites[point])
        if state != retry_state or len(deployments) != 1 or says not in text:
            problems.append(f"{point}: retry {state}, {len(deployments)} deployment(s), says {says!r}: {says in text}")
        elif retry_state == "success" and world.emu.build_of(sites[point]) != point:
            problems.append(f"{point}: serves {world.emu.build_of(sites[point])}")
        elif retry_state == "failed":
            message = failures(tmp_path)["deploy"]
            wanted = ("/api/deployments", deployments[0].id, "mark this task success", "state-store")
            if message["error"] != "AmbiguousOutcomeError" or not all(w in message["message"] for w in wanted):
                problems.append(f"{point}: {message}")
    assert not problems, "\n".join(problems)
