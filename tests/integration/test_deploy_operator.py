"""AppServiceDeployOperator and AppServiceDeploymentSensor through dag.test() of real DAGs against
the emulator: real SDK, real TLS, real Kudu shapes (stale /latest, 0 -> 4, http://…:80 Locations).

Waits run on the emulator's clock: ``use_clock(EmulatorClock(emu))`` makes every hook's clock one whose
sleep advances the emulator, so "a deployment slower than the timeout" takes milliseconds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from azure.core import PipelineClient
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential

from airflow_provider_appservice.clock import use_clock
from airflow_provider_appservice.testing.clock import EmulatorClock
from airflow_provider_appservice.testing.kudu import RUN_FROM_REMOTE_ZIP
from airflow_provider_appservice.triggers.deployment import AppServiceDeploymentTrigger

from ..support import REPO, load_dag, migrate_db, task_states, xcom_value

DAG_FILE = REPO / "tests" / "dags" / "deploy_package.py"


@pytest.fixture(scope="module")
def dags():
    migrate_db()
    ids = ("deploy_package", "deploy_deferred", "deploy_then_sense", "deploy_with_retry")
    return {i: load_dag(DAG_FILE, i) for i in ids}


@pytest.fixture
def clock(world):
    with use_clock(EmulatorClock(world.emu)) as c:
        yield c


def zip_bytes(build: str, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", b"print('hello')\n")
        zf.writestr("BUILD", build + "\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def publishes(emu) -> list:
    return [r for r in emu.requests if r.kind == "scm" and r.path == "/api/publish"]


def status_requests(emu) -> list:
    return [
        r
        for r in emu.requests
        if (
            r.kind == "scm"
            and r.path.startswith("/api/deployments")
            and not r.path.endswith("/log")
            and "/log/" not in r.path
        )
        or (r.kind == "arm" and "/deploymentStatus/" in r.path)
    ]


def asset_events(world, app: str, slot: str | None) -> list:
    """Deployment ids of the asset events recorded for an app/slot's asset (the asset URI has no
    subscription, so earlier tests' events for rg-shop/shop are there too)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    from airflow_provider_appservice.common.assets import app_slot_asset

    uri = app_slot_asset(world.resource_group, app, slot).uri
    with create_session() as session:
        asset = session.query(AssetModel).filter_by(uri=uri).one_or_none()
        if asset is None:
            return []
        events = session.query(AssetEvent).filter_by(asset_id=asset.id).order_by(AssetEvent.id).all()
        return [e.extra.get("deployment_id") for e in events]


def run(dag, **conf):
    return dag.test(run_conf={"app_name": "shop", "slot": "production", **conf})


def test_file_deployment_streams_with_a_bearer_token_and_tracks_to_runtime_success(
    world, contributor, dags, clock, tmp_path, capfd
):
    package = tmp_path / "site.zip"
    package.write_bytes(zip_bytes("v1", {"big.bin": os.urandom(3 * 1024 * 1024)}))
    assert world.site.basic_auth_enabled is False, "SCM basic auth is disabled: only Entra works"
    dag_run = run(dags["deploy_package"], package=str(package))
    assert task_states(dag_run) == {"deploy": "success"}
    result = xcom_value(dag_run, "deploy")
    checksum = hashlib.sha256(package.read_bytes()).hexdigest()
    assert result["checksum"] == checksum and result["status"] == "RuntimeSuccessful"
    assert result["duration"] is not None and result["app_name"] == "shop" and result["slot"] is None
    dep = world.emu.deployment(result["deployment_id"])
    assert dep is not None and dep.checksum == checksum and dep.artifact_type == "zip"
    assert world.emu.build_of(world.site) == "v1" and world.emu.build_of(world.slot) == "initial"
    assert [r.status for r in publishes(world.emu)] == [202]
    scm = [r for r in world.emu.requests if r.kind == "scm"]
    assert all(r.bearer and r.audience == "https://appservice.azure.com" for r in scm)  # the narrow Kudu token
    assert all(r.host == world.site.scm_host_name for r in scm)
    assert not [r for r in world.emu.requests if "publishingcredentials" in r.path.lower()]
    assert len(status_requests(world.emu)) <= 20
    log_url = xcom_value(dag_run, "deploy", key="appservice_deployment_log_url")
    assert log_url == f"https://{world.site.scm_host_name}/api/deployments/{result['deployment_id']}/log"
    assert asset_events(world, "shop", None).count(result["deployment_id"]) == 1
    out = capfd.readouterr()
    text = out.out + out.err
    assert "Kudu status: Success" in text and "Runtime status: RuntimeSuccessful" in text
    assert "Kudu log: Deployment successful." in text
    assert "AUDIT action=deploy" in text and f"deployment_id={result['deployment_id']}" in text


def test_folder_is_zipped_on_the_fly_and_a_slot_ends_at_build_successful(world, contributor, dags, clock, tmp_path):
    folder = tmp_path / "site"
    (folder / "static").mkdir(parents=True)
    (folder / "BUILD").write_text("folder-7\n")
    (folder / "app.py").write_text("print('hi')\n")
    (folder / "static" / "index.html").write_text("<h1>hi</h1>")
    dag_run = run(dags["deploy_package"], package=str(folder), slot="staging")
    assert task_states(dag_run) == {"deploy": "success"}
    result = xcom_value(dag_run, "deploy")
    assert result["status"] == "BuildSuccessful" and result["slot"] == "staging"
    assert world.emu.build_of(world.slot) == "folder-7" and world.emu.build_of(world.site) == "initial"
    dep = world.emu.deployment(result["deployment_id"])
    assert dep.checksum == result["checksum"]
    assert {p.host for p in publishes(world.emu)} == {world.slot.scm_host_name}
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("appservice-deploy-*.zip")), "temporary zip removed"


def test_url_package_masks_the_sas_signature_everywhere(world, contributor, dags, clock, capfd):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    url = world.emu.add_blob("pkgstore", "builds", "canary-build-42.zip", zip_bytes("from-url"))
    sig = url.split("sig=")[1].split("&")[0]
    encoded = "".join(f"%{b:02X}" for b in sig.encode())  # fully %-encoded: the same signature
    dag_run = run(dags["deploy_package"], package=url.replace(sig, encoded))
    assert task_states(dag_run) == {"deploy": "success"}
    assert world.emu.build_of(world.site) == "from-url"
    dep = world.emu.deployment(xcom_value(dag_run, "deploy")["deployment_id"])
    assert dep.source == "packageUri"
    out = capfd.readouterr()
    text = out.out + out.err
    assert "canary-build-42.zip" in text, "positive control: the scan reads what the task printed"
    assert "sig=***" in text
    with create_session() as session:
        rtif = session.query(RenderedTaskInstanceFields).filter_by(dag_id="deploy_package", run_id=dag_run.run_id).one()
        rendered = json.dumps(rtif.rendered_fields)
    assert "canary-build-42.zip" in rendered, "positive control for the rendered fields"
    xcoms = json.dumps(xcom_value(dag_run, "deploy"))
    for haystack, where in ((text, "task output"), (rendered, "rendered fields"), (xcoms, "XCom")):
        assert sig not in haystack and encoded not in haystack and encoded.lower() not in haystack, where


def test_failure_carries_the_last_log_lines_and_the_log_url(world, contributor, dags, clock, tmp_path, capfd):
    world.emu.deployment_behaviour(
        world.site,
        outcome="failed",
        log_lines=["npm ERR! missing script: build", "npm ERR! A complete log is in /tmp/x.log"],
        error="Build failed: npm exited with code 1.",
    )
    package = tmp_path / "bad.zip"
    package.write_bytes(zip_bytes("bad"))
    dag_run = run(dags["deploy_package"], package=str(package))
    assert task_states(dag_run) == {"deploy": "failed"}
    (dep,) = world.emu.deployments(world.site)
    out = capfd.readouterr()
    text = out.out + out.err
    assert "DeploymentFailed" in text and "Last log lines:" in text
    assert "npm ERR! missing script: build" in text and "Build failed: npm exited with code 1." in text
    assert f"https://{world.site.scm_host_name}/api/deployments/{dep.id}/log" in text
    assert world.emu.build_of(world.site) == "initial"


def test_timeout_is_a_bound_on_the_emulator_clock(world, contributor, dags, clock, tmp_path, capfd):
    world.emu.deployment_behaviour(world.site, duration=3600)
    package = tmp_path / "slow.zip"
    package.write_bytes(zip_bytes("slow"))
    dag_run = run(dags["deploy_package"], package=str(package), timeout=300)
    assert task_states(dag_run) == {"deploy": "failed"}
    assert 300 <= clock.now() <= 330
    assert len(status_requests(world.emu)) <= 20
    text = "".join(capfd.readouterr())
    assert "DeploymentTimeout" in text and "Waited 300s" in text and "reconnects" in text


def test_409_in_progress_is_waited_out_then_the_upload_is_sent_again(world, contributor, dags, clock, tmp_path, capfd):
    world.emu.deployment_behaviour(world.site, duration=60)
    credential = ClientSecretCredential(world.tenant.tenant_id, contributor.client_id, contributor.secret)
    other = PipelineClient(
        base_url=f"https://{world.site.scm_host_name}",
        policies=[
            BearerTokenCredentialPolicy(credential, "https://management.azure.com/.default"),
            RetryPolicy(retry_total=0),
        ],
        connection_verify=world.emu.ca_path,
    )
    first = other.send_request(
        HttpRequest(
            "POST",
            other.format_url("/api/publish"),
            params={"type": "zip", "async": "true"},
            content=zip_bytes("other"),
        )
    )
    assert first.status_code == 202
    package = tmp_path / "mine.zip"
    package.write_bytes(zip_bytes("mine"))
    dag_run = run(dags["deploy_package"], package=str(package))
    assert task_states(dag_run) == {"deploy": "success"}
    statuses = [r.status for r in publishes(world.emu)]
    assert statuses[0] == 202 and statuses[-1] == 202 and 409 in statuses
    assert world.emu.build_of(world.site) == "mine"
    text = "".join(capfd.readouterr())
    assert "Another deployment is in progress" in text and "again" in text


def test_run_from_package_url_is_refused_before_uploading(world, contributor, dags, clock, tmp_path, capfd):
    world.emu.set_app_settings(
        world.site, {"WEBSITE_RUN_FROM_PACKAGE": "https://x.blob.core.windows.net/c/p.zip?sig=s3cr3t"}
    )
    package = tmp_path / "p.zip"
    package.write_bytes(zip_bytes("p"))
    dag_run = run(dags["deploy_package"], package=str(package))
    assert task_states(dag_run) == {"deploy": "failed"}
    assert publishes(world.emu) == []
    text = "".join(capfd.readouterr())
    assert "WEBSITE_RUN_FROM_PACKAGE points at a URL" in text and "s3cr3t" not in text


def test_kudus_permanent_409_fails_at_once_with_its_reason(world, contributor, dags, clock, tmp_path, capfd):
    world.emu.fault(
        status=409, host=world.site.scm_host_name, path=r"^/api/publish$", times=None, body=RUN_FROM_REMOTE_ZIP
    )
    package = tmp_path / "p.zip"
    package.write_bytes(zip_bytes("p"))
    dag_run = run(dags["deploy_package"], package=str(package))
    assert task_states(dag_run) == {"deploy": "failed"}
    assert [r.status for r in publishes(world.emu)] == [409]
    text = "".join(capfd.readouterr())
    assert "DeploymentRefused" in text and "Run-From-Zip is set to a remote URL" in text


def test_deferrable_waits_in_the_trigger(world, contributor, dags, tmp_path, capfd):
    world.emu.deployment_behaviour(world.site, polls=4, runtime_after=1, log_lines=["collecting packages"])
    package = tmp_path / "d.zip"
    package.write_bytes(zip_bytes("deferred"))
    dag_run = run(dags["deploy_deferred"], package=str(package), poll_interval=0.05)
    assert task_states(dag_run) == {"deploy": "success"}
    result = xcom_value(dag_run, "deploy")
    assert (
        result["status"] == "RuntimeSuccessful"
        and result["checksum"] == hashlib.sha256(package.read_bytes()).hexdigest()
    )
    assert world.emu.build_of(world.site) == "deferred"
    text = "".join(capfd.readouterr())
    assert "Deferring" in text and "Runtime status: RuntimeSuccessful" in text and "collecting packages" in text


def test_trigger_serializes_to_json_and_back_without_secrets():
    trigger = AppServiceDeploymentTrigger(
        azure_app_service_conn_id="c",
        resource_group="rg",
        app_name="shop",
        slot="staging",
        deployment_id="abc",
        deadline=1234.5,
        poll_interval=None,
        scm_host="shop-staging.scm.azurewebsites.net",
    )
    classpath, kwargs = trigger.serialize()
    again = AppServiceDeploymentTrigger(**json.loads(json.dumps(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert classpath == "airflow_provider_appservice.triggers.deployment.AppServiceDeploymentTrigger"
    assert set(kwargs) == {
        "azure_app_service_conn_id",
        "resource_group",
        "app_name",
        "slot",
        "poll_interval",
        "deployment_id",
        "deadline",
        "scm_host",
        "runtime",
    }


def test_sensor_tracks_a_deployment_id_and_latest(world, contributor, dags, clock, tmp_path):
    world.emu.deployment_behaviour(world.site, polls=3)
    package = tmp_path / "s.zip"
    package.write_bytes(zip_bytes("sensed"))
    dag_run = run(dags["deploy_then_sense"], package=str(package))
    assert task_states(dag_run) == {"deploy": "success", "sense": "success", "latest": "success"}
    deployed = xcom_value(dag_run, "deploy")
    assert deployed["status"] == "Submitted"
    assert xcom_value(dag_run, "sense")["deployment_id"] == deployed["deployment_id"]
    assert xcom_value(dag_run, "latest")["deployment_id"] == deployed["deployment_id"]
    assert world.emu.build_of(world.site) == "sensed"


def test_a_function_app_deploys_the_same_way(world, contributor, dags, clock, tmp_path):
    func = world.emu.add_site(world.subscription_id, world.resource_group, "orders-func", kind="functionapp,linux")
    package = tmp_path / "func.zip"
    package.write_bytes(zip_bytes("func-3", {"host.json": b"{}"}))
    dag_run = run(dags["deploy_package"], package=str(package), app_name="orders-func")
    assert task_states(dag_run) == {"deploy": "success"}
    assert world.emu.build_of(func) == "func-3"


CRASH_RUNNER = """
import json, os, sys
from datetime import datetime, timezone
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.support import load_dag
dag = load_dag(Path({dag_file!r}), "deploy_with_retry")
dag.test(logical_date=datetime.fromisoformat({logical_date!r}), run_conf=json.loads({conf!r}))
"""


def test_a_crash_after_the_upload_reconnects_on_retry_without_a_second_deployment(
    world, contributor, dags, clock, tmp_path
):
    """Try 1 runs ``dag.test()`` in a subprocess and is SIGKILLed once the emulator's journal shows
    the publish (the worker died while tracking). Try 2 is what the scheduler does after the
    heartbeat timeout: the same dag run and task state store, try_number + 1, run in this process
    with ``_run_task`` (dag.test's own runner). It must reconnect to the stored deployment id."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    world.emu.deployment_behaviour(world.site, duration=120)
    package = tmp_path / "crash.zip"
    package.write_bytes(zip_bytes("crash-safe"))
    logical_date = "2026-03-01T00:00:00+00:00"
    conf = json.dumps({"app_name": "shop", "slot": "production", "package": str(package), "poll_interval": 0.2})
    code = CRASH_RUNNER.format(repo=str(REPO), dag_file=str(DAG_FILE), logical_date=logical_date, conf=conf)
    output = tmp_path / "try1.log"
    with open(output, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=sink, stderr=sink, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not [p for p in publishes(world.emu) if p.status == 202]:
            assert proc.poll() is None, "try 1 ended before it uploaded:\n" + output.read_text()[-3000:]
            assert time.monotonic() < deadline, "try 1 never uploaded"
            time.sleep(0.02)
        time.sleep(0.5)  # tracking has started (the id was stored before it)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (dep,) = world.emu.deployments(world.site)
    assert not dep.complete

    with create_session() as session:
        dr = session.query(DagRun).filter_by(dag_id="deploy_with_retry").order_by(DagRun.id.desc()).first()
        ti = dr.get_task_instance("deploy", session=session)
        assert ti.state == TaskInstanceState.RUNNING, "try 1 died while running"
        ti.state = TaskInstanceState.SCHEDULED  # heartbeat timeout -> up_for_retry -> scheduled
        ti.try_number += 1
        session.merge(ti)
        session.commit()
        session.refresh(ti)
        session.expunge(ti)
    dag = dags["deploy_with_retry"]
    result = _run_task(ti=ti, task=dag.task_dict["deploy"], run_triggerer=True)
    assert result is not None and result.ti.state == TaskInstanceState.SUCCESS
    assert [p.status for p in publishes(world.emu)] == [202], "the retry reconnected instead of deploying again"
    assert world.emu.build_of(world.site) == "crash-safe"
    with create_session() as session:
        dr = session.query(DagRun).filter_by(dag_id="deploy_with_retry").order_by(DagRun.id.desc()).first()
        value = xcom_value(dr, "deploy")
    assert value["deployment_id"] == dep.id and value["checksum"] == hashlib.sha256(package.read_bytes()).hexdigest()
    assert asset_events(world, "shop", None).count(dep.id) == 1
