"""Kudu on the SCM host: OneDeploy and zipdeploy, status over the emulator's clock or polls, the
recorded quirks, auth, and the build a site serves afterwards."""

from __future__ import annotations

import hashlib
import os

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.core.rest import HttpRequest

from airflow_provider_appservice.testing.kudu import IN_PROGRESS, RUN_FROM_REMOTE_ZIP

from .kudu_helpers import Scm, zip_package
from .scenarios import make_scenario

KEYS = {
    "id",
    "status",
    "status_text",
    "author_email",
    "author",
    "deployer",
    "message",
    "progress",
    "received_time",
    "start_time",
    "end_time",
    "last_success_end_time",
    "complete",
    "active",
    "is_temp",
    "is_readonly",
    "url",
    "log_url",
    "site_name",
}


@pytest.fixture
def sc(emu):
    return make_scenario(emu, "secret")


@pytest.fixture
def scm(sc):
    return Scm(sc, sc.site.scm_host_name)


def test_async_onedeploy_answers_202_with_an_https_location_and_the_deployment_id(emu, sc, scm):
    r = scm.publish(zip_package("v2"), message="mine", restart="true")
    assert r.status_code == 202 and r.content == b""
    location, dep_id = r.headers["Location"], r.headers["SCM-DEPLOYMENT-ID"]
    assert location.startswith(f"https://{sc.site.scm_host_name}/api/deployments/latest?deployer=OneDeploy&time=")
    assert "Retry-After" not in r.headers
    # Linux Kudu's poll answers point at plain http, where azure-core sends no bearer token.
    poll = scm.get(location)
    assert poll.status_code == 202 and poll.headers["Location"].startswith(f"http://{sc.site.scm_host_name}:80/")
    with pytest.raises(ServiceRequestError, match="https"):
        scm.get(poll.headers["Location"])

    assert scm.poll_until_complete(dep_id) == [0, 4]  # default: 3 polls (one was the latest above), 0 -> 4
    body = scm.status(dep_id)
    assert set(body) == KEYS | {"build_summary"} and body["build_summary"] == {"errors": [], "warnings": []}
    assert body["id"] == dep_id and body["status"] == 4 and body["complete"] and body["active"]
    assert body["deployer"] == body["message"] == "OneDeploy"  # OneDeploy ignores the caller's message
    assert body["url"] == f"https://{sc.site.scm_host_name}/api/deployments/{dep_id}"
    assert body["log_url"] == body["url"] + "/log"
    assert body["site_name"] == "app" and not body["is_temp"]
    assert emu.build_of(sc.site) == "v2" and emu.build_of(sc.slot) == "initial"
    dep = emu.deployment(dep_id)
    assert dep is not None and dep.restarted and dep.checksum == hashlib.sha256(zip_package("v2")).hexdigest()
    scm_requests = [q for q in emu.requests if q.kind == "scm"]
    assert all(q.bearer and q.audience == "https://management.azure.com" for q in scm_requests)


def test_status_runs_through_building_and_deploying_on_the_clock(emu, sc, scm):
    emu.deployment_behaviour(sc.site, duration=30, jump=False, stale_latest=False)
    dep_id = scm.publish(zip_package("clock")).headers["SCM-DEPLOYMENT-ID"]
    seen = []
    for _ in range(4):
        seen.append(scm.status(dep_id)["status"])
        emu.advance(10)
    assert seen == [0, 1, 2, 4]
    assert emu.build_of(sc.site) == "clock"


def test_status_jumps_from_0_to_4_and_the_clock_alone_finishes_it(emu, sc, scm):
    emu.deployment_behaviour(sc.site, duration=300, jump=True)
    dep_id = scm.publish(zip_package("jump")).headers["SCM-DEPLOYMENT-ID"]
    assert [scm.status(dep_id)["status"] for _ in range(3)] == [0, 0, 0]
    emu.advance(299)
    assert emu.build_of(sc.site) == "initial"
    emu.advance(1)
    assert emu.build_of(sc.site) == "jump"  # nobody polled: the clock finished it
    body = scm.status(dep_id)
    assert body["status"] == 4 and body["end_time"] is not None


def test_latest_shows_a_stale_temporary_record_then_202_then_the_result(emu, sc, scm):
    assert scm.get("/api/deployments/latest").status_code == 404
    emu.deployment_behaviour(sc.site, polls=3)
    r = scm.publish(zip_package("latest"))
    dep_id = r.headers["SCM-DEPLOYMENT-ID"]
    latest = f"/api/deployments/latest?{r.headers['Location'].split('?', 1)[1]}"

    first = scm.get(latest)
    assert first.status_code == 202
    assert first.json()["is_temp"] and first.json()["id"] != dep_id and first.json()["id"].startswith("temp-")
    second = scm.get(latest)
    assert second.status_code == 202 and second.headers["Location"].startswith("http://")
    assert second.json()["id"] == dep_id and second.json()["status"] == 0 and not second.json()["complete"]
    third = scm.get(latest)
    assert third.status_code == 200 and third.json()["id"] == dep_id and third.json()["status"] == 4
    assert scm.get(f"/api/deployments/{first.json()['id']}").status_code == 404  # the temp record is gone


def test_no_stale_record_once_the_clock_finished_the_deployment(emu, sc, scm):
    emu.deployment_behaviour(sc.site, duration=60)
    dep_id = scm.publish(zip_package("late")).headers["SCM-DEPLOYMENT-ID"]
    emu.advance(61)
    r = scm.get("/api/deployments/latest")
    assert r.status_code == 200 and r.json()["id"] == dep_id and r.json()["status"] == 4


def test_a_second_deployment_while_one_runs_is_a_transient_409(emu, sc, scm):
    emu.deployment_behaviour(sc.site, polls=2)
    first = scm.publish(zip_package("one")).headers["SCM-DEPLOYMENT-ID"]
    busy = scm.publish(zip_package("two"))
    assert busy.status_code == 409 and busy.text() == IN_PROGRESS
    scm.poll_until_complete(first)
    assert scm.publish(zip_package("two")).status_code == 202
    assert len(emu.deployments(sc.site)) == 2


def test_run_from_a_package_url_is_a_permanent_409(emu, sc, scm):
    sc.site.app_settings["WEBSITE_RUN_FROM_PACKAGE"] = "https://store.blob.core.windows.net/p/app.zip?sig=x"
    r = scm.publish(zip_package("nope"))
    assert r.status_code == 409 and r.text() == RUN_FROM_REMOTE_ZIP
    assert emu.deployments(sc.site) == []
    sc.site.app_settings["WEBSITE_RUN_FROM_PACKAGE"] = "1"  # run from a local package: deployable
    assert scm.publish(zip_package("ok")).status_code == 202


def test_a_failed_deployment_has_error_logs_and_keeps_the_build(emu, sc, scm):
    emu.deployment_behaviour(
        sc.site, polls=2, outcome="failed", log_lines=["npm install", "npm run build"], error="npm ERR! code ELIFECYCLE"
    )
    dep_id = scm.publish(zip_package("broken")).headers["SCM-DEPLOYMENT-ID"]
    assert scm.poll_until_complete(dep_id)[-1] == 3
    body = scm.status(dep_id)
    assert body["status_text"] == "npm ERR! code ELIFECYCLE" and not body["active"]
    log = scm.get(f"/api/deployments/{dep_id}/log").json()
    assert set(log[0]) == {"log_time", "id", "message", "type", "details_url"}
    assert log[-1]["type"] == 2 and "npm ERR! code ELIFECYCLE" in log[-1]["message"]
    detailed = [e for e in log if e["details_url"]]
    assert len(detailed) == 1 and detailed[0]["details_url"].startswith(f"https://{sc.site.scm_host_name}/")
    details = scm.get(detailed[0]["details_url"]).json()
    assert [d["message"] for d in details] == ["npm install", "npm run build", "npm ERR! code ELIFECYCLE"]
    assert [d["type"] for d in details] == [0, 0, 2]
    assert scm.get(f"/api/deployments/{dep_id}/log/nosuchentry").status_code == 404
    assert emu.build_of(sc.site) == "initial"


def test_package_uri_is_fetched_from_the_emulators_blob_host(emu, sc, scm):
    package = zip_package("from-blob")
    url = emu.add_blob("artifacts", "releases", "app-1.zip", package)
    assert url.startswith("https://artifacts.blob.core.windows.net/releases/app-1.zip?sv=") and "&sig=" in url
    emu.deployment_behaviour(sc.site, polls=1, stale_latest=False)
    r = scm.send("POST", "/api/publish", params={"type": "zip", "async": "true"}, json={"packageUri": url})
    assert r.status_code == 202
    dep_id = r.headers["SCM-DEPLOYMENT-ID"]
    assert scm.status(dep_id)["status"] == 4
    dep = emu.deployment(dep_id)
    assert dep is not None and dep.source == "packageUri" and dep.bytes == len(package)
    assert dep.checksum == hashlib.sha256(package).hexdigest()
    assert emu.build_of(sc.site) == "from-blob"
    fetches = [q for q in emu.requests if q.kind == "blob"]
    assert [(q.host, q.path, q.status) for q in fetches] == [
        ("artifacts.blob.core.windows.net", "/releases/app-1.zip", 200)
    ]


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda u: u.replace("&sig=", "&sig=x"), "HTTP 403"),
        (lambda u: u.split("?")[0], "HTTP 404"),
        (lambda u: u.replace("app-1.zip", "other.zip"), "HTTP 404"),
        (lambda u: "https://example.com/app.zip", "cannot be reached"),
    ],
)
def test_an_unreadable_package_uri_fails_the_deployment(emu, sc, scm, mangle, expected):
    url = emu.add_blob("artifacts", "releases", "app-1.zip", zip_package("x"))
    emu.deployment_behaviour(sc.site, polls=1)
    r = scm.send("POST", "/api/publish", params={"type": "zip", "async": "true"}, json={"packageUri": mangle(url)})
    dep_id = r.headers["SCM-DEPLOYMENT-ID"]
    body = scm.status(dep_id)
    assert body["status"] == 3 and expected in body["status_text"] and "sig=" not in body["status_text"]
    assert emu.build_of(sc.site) == "initial"


def test_blob_host_serves_the_sas_url_and_refuses_without_it(emu):
    import requests

    url = emu.add_blob("store1", "c", "a.bin", b"payload")
    assert requests.get(url, verify=emu.ca_path, timeout=10).content == b"payload"
    anonymous = requests.get(url.split("?")[0], verify=emu.ca_path, timeout=10)
    assert anonymous.status_code == 404 and anonymous.headers["x-ms-error-code"] == "ResourceNotFound"
    emu.advance(7200)
    expired = requests.get(url, verify=emu.ca_path, timeout=10)
    assert expired.status_code == 403 and expired.headers["x-ms-error-code"] == "AuthenticationFailed"
    public = emu.add_blob("store1", "c", "b.bin", b"open", public=True)
    assert "?" not in public and requests.get(public, verify=emu.ca_path, timeout=10).content == b"open"


def test_sync_publish_answers_200_when_done_and_unknown_types_400(emu, sc, scm):
    emu.deployment_behaviour(sc.site, duration=600)  # a sync request waits it out
    r = scm.publish(zip_package("sync"), **{"async": "false"})
    assert r.status_code == 200 and emu.build_of(sc.site) == "sync"
    bad = scm.publish(b"x", type="exe")
    assert bad.status_code == 400 and bad.text() == "type='exe' not recognized"
    emu.deployment_behaviour(sc.site, outcome="failed", error="boom")
    failed = scm.publish(zip_package("sync2"), **{"async": "false"})
    assert failed.status_code == 400 and failed.text() == "boom"
    assert emu.build_of(sc.site) == "sync"


def test_build_label_is_the_sha256_prefix_without_a_build_file(emu, sc, scm):
    data = b"\x00not a zip" * 100
    r = scm.publish(data, type="jar", restart="false")
    scm.poll_until_complete(r.headers["SCM-DEPLOYMENT-ID"])
    assert emu.build_of(sc.site) == "sha256:" + hashlib.sha256(data).hexdigest()[:12]
    dep = emu.deployments(sc.site)[-1]
    assert dep.artifact_type == "jar" and not dep.restarted


def test_retry_after_is_a_knob(emu, sc, scm):
    emu.deployment_behaviour(sc.site, retry_after=7, stale_latest=False)
    r = scm.publish(zip_package("ra"))
    assert r.headers["Retry-After"] == "7"
    assert scm.get("/api/deployments/latest").headers["Retry-After"] == "7"


def test_streaming_a_64_mib_body_goes_to_disk_not_memory(emu, sc, scm):
    import tracemalloc

    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    for _ in range(64):
        digest.update(block)

    def body():
        for _ in range(64):
            yield block

    tracemalloc.start()
    try:
        r = scm.publish(body(), type="static", path="big.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 202
    dep = emu.deployment(r.headers["SCM-DEPLOYMENT-ID"])
    assert dep is not None and dep.bytes == 64 * 1024 * 1024 and dep.checksum == digest.hexdigest()
    assert dep.package_path is not None and os.path.getsize(dep.package_path) == dep.bytes
    assert os.stat(dep.package_path).st_mode & 0o777 == 0o600
    assert peak < 16 * 1024 * 1024, f"tracemalloc peak {peak / 2**20:.1f} MiB while uploading 64 MiB"


def test_send_request_of_the_management_client_reaches_kudu(emu, sc):
    client = sc.sync_client()
    url = f"https://{sc.site.scm_host_name}/api/publish"
    r = client.send_request(
        HttpRequest("POST", url, params={"type": "zip", "async": "true"}, content=zip_package("mgmt"))
    )
    assert r.status_code == 202
    warm = client.send_request(HttpRequest("GET", f"https://{sc.site.scm_host_name}/api/settings"))
    assert warm.status_code == 200 and warm.json() == {}
