"""Who may use Kudu, ARM's runtime deployment status, and the Windows/function-app/slot shapes."""

from __future__ import annotations

import base64

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError

from .kudu_helpers import Scm, zip_package
from .scenarios import make_scenario


@pytest.fixture
def sc(emu):
    return make_scenario(emu, "secret")


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_is_refused_unless_the_site_enables_it(emu, sc):
    url = f"https://{sc.site.scm_host_name}/api/settings"
    user, password = emu.publishing_credentials(sc.site)
    assert user == "$app"
    assert emu.publishing_credentials(sc.slot)[0] == "$app__staging"
    assert requests.get(url, headers=_basic(user, password), verify=emu.ca_path, timeout=10).status_code == 401
    sc.site.basic_auth_enabled = True
    assert requests.get(url, headers=_basic(user, password), verify=emu.ca_path, timeout=10).status_code == 200
    assert requests.get(url, headers=_basic(user, "wrong"), verify=emu.ca_path, timeout=10).status_code == 401
    slot_url = f"https://{sc.slot.scm_host_name}/api/settings"  # the slot has its own switch
    assert requests.get(slot_url, headers=_basic(user, password), verify=emu.ca_path, timeout=10).status_code == 401


def test_missing_and_foreign_tokens_get_401(emu, sc):
    url = f"https://{sc.site.scm_host_name}/api/deployments"
    assert requests.get(url, verify=emu.ca_path, timeout=10).status_code == 401
    vault_token = Scm(sc, sc.site.scm_host_name, scope="https://vault.azure.net/.default")
    assert vault_token.get("/api/deployments").status_code == 401
    other = make_scenario(emu, "secret", site_name="other")  # another tenant's ARM token
    assert Scm(sc, sc.site.scm_host_name, credential=other.credential()).get("/api/deployments").status_code == 401
    legacy = Scm(sc, sc.site.scm_host_name, scope="https://management.core.windows.net//.default")
    assert legacy.get("/api/deployments").status_code == 200


@pytest.mark.parametrize(("role", "status"), [("Reader", 403), ("Website Contributor", 202), ("Contributor", 202)])
def test_publish_needs_a_role_that_may_publish(emu, role, status):
    sc = make_scenario(emu, "secret", role=role)
    scm = Scm(sc, sc.site.scm_host_name)
    r = scm.publish(zip_package("rbac"))
    assert r.status_code == status
    if status == 403:
        assert "Microsoft.Web/sites/publish/action" in r.text()
        assert scm.get("/api/deployments/latest").status_code == 403
        assert emu.deployments(sc.site) == []


def test_arm_deployment_status_is_202_without_headers_then_200(emu, sc):
    emu.deployment_behaviour(sc.site, polls=4, runtime_after=1)
    scm = Scm(sc, sc.site.scm_host_name)
    dep_id = scm.publish(zip_package("arm"), trackDeploymentProgress="true").headers["SCM-DEPLOYMENT-ID"]
    client = sc.sync_client()
    # The 202 carries no Location: the SDK's poller returns the first body (the caller polls itself).
    first = client.web_apps.begin_get_production_site_deployment_status("rg", "app", dep_id).result()
    assert first.properties.status == "BuildRequestReceived" and first.name == dep_id
    assert first.id == f"{sc.site.id}/deploymentStatus/{dep_id}"
    seen = [first.properties.status]
    url = f"https://management.azure.com{sc.site.id}/deploymentStatus/{dep_id}?api-version=2024-11-01"
    token = sc.credential().get_token("https://management.azure.com/.default").token
    while True:
        r = requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=emu.ca_path, timeout=10)
        assert not {"location", "azure-asyncoperation", "retry-after"} & {k.lower() for k in r.headers}
        seen.append(r.json()["properties"]["status"])
        if r.status_code == 200:
            break
        assert r.status_code == 202 and len(seen) < 10
    assert seen == [
        "BuildRequestReceived",
        "BuildInProgress",
        "BuildInProgress",
        "RuntimeStarting",
        "RuntimeSuccessful",
    ]
    props = r.json()["properties"]
    assert props["numberOfInstancesSuccessful"] == 1 and props["errors"] is None and props["failedInstancesLogs"] == []
    assert emu.build_of(sc.site) == "arm"
    listed = list(client.web_apps.list_production_site_deployment_statuses("rg", "app"))
    assert [s.name for s in listed] == [dep_id]
    with pytest.raises(ResourceNotFoundError):
        client.web_apps.begin_get_production_site_deployment_status("rg", "app", "no-such-id").result()


def test_slot_runtime_status_stops_at_build_successful_and_reader_may_read_it(emu):
    sc = make_scenario(emu, "secret", role="Reader")
    deployer = emu.add_service_principal(sc.tenant)
    emu.assign_role(deployer, "Website Contributor", sc.slot)
    emu.deployment_behaviour(sc.slot, polls=1, stale_latest=False)
    scm = Scm(sc, sc.slot.scm_host_name, credential=_credential(sc, deployer))
    dep_id = scm.publish(zip_package("green")).headers["SCM-DEPLOYMENT-ID"]
    status = sc.sync_client().web_apps.begin_get_slot_site_deployment_status_slot("rg", "app", "staging", dep_id)
    body = status.result()
    assert body.properties.status == "BuildSuccessful"
    assert body.type == "Microsoft.Web/sites/slots/deploymentStatus"
    assert emu.build_of(sc.slot) == "green" and emu.build_of(sc.site) == "initial"
    assert emu.deployments(sc.site) == []


def _credential(sc, principal):
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        principal.tenant_id, principal.client_id, principal.secret, connection_verify=sc.emu.ca_path
    )


@pytest.mark.parametrize(
    ("behaviour", "expected", "kudu_status"),
    [
        ({"runtime": "RuntimeFailed"}, "RuntimeFailed", 4),
        ({"outcome": "failed", "error": "pip failed"}, "BuildFailed", 3),
    ],
)
def test_failed_runtime_and_failed_build_in_arm(emu, sc, behaviour, expected, kudu_status):
    emu.deployment_behaviour(sc.site, polls=1, instances=2, **behaviour)
    scm = Scm(sc, sc.site.scm_host_name)
    dep_id = scm.publish(zip_package("bad")).headers["SCM-DEPLOYMENT-ID"]
    body = sc.sync_client().web_apps.begin_get_production_site_deployment_status("rg", "app", dep_id).result()
    assert body.properties.status == expected
    assert body.properties.errors and body.properties.errors[0].code == expected
    if expected == "RuntimeFailed":
        assert body.properties.number_of_instances_failed == 2 and len(body.properties.failed_instances_logs) == 2
        assert emu.build_of(sc.site) == "bad"  # the files were deployed; the app does not start
    else:
        assert body.properties.errors[0].message == "pip failed"
        assert emu.build_of(sc.site) == "initial"
    assert scm.status(dep_id)["status"] == kudu_status


def test_zipdeploy_on_windows_has_the_recorded_shape(emu, sc):
    site = emu.add_site(sc.subscription_id, "rg", "winapp", kind="app")
    emu.deployment_behaviour(site, polls=3)
    scm = Scm(sc, site.scm_host_name)
    r = scm.send(
        "POST", "/api/zipdeploy", params={"isAsync": "true", "message": "release 7"}, content=zip_package("win")
    )
    assert r.status_code == 202 and r.content == b""
    location = r.headers["Location"]
    assert location.startswith(f"https://{site.scm_host_name}/api/deployments/latest?deployer=ZipDeploy&time=")
    bodies = []
    while True:
        response = scm.get(location)  # https: the bearer token may follow it
        bodies.append((response.status_code, response.json()))
        if response.status_code == 200:
            break
    assert [(code, b["status"], b["provisioningState"], b["is_temp"]) for code, b in bodies] == [
        (202, 0, "InProgress", True),
        (202, 1, "InProgress", False),
        (200, 4, "Succeeded", False),
    ]
    final = bodies[-1][1]
    assert final["complete"] and final["deployer"] == "ZipDeploy" and final["message"] == "release 7"
    assert final["log_url"].endswith("/log") and emu.build_of(site) == "win"


@pytest.mark.parametrize(("kind", "plan"), [("functionapp,linux", "EP1"), ("functionapp", "P1v3")])
def test_function_apps_on_dedicated_and_premium_plans_deploy_the_same_way(emu, sc, kind, plan):
    fn = emu.add_site(sc.subscription_id, "rg", f"fn-{plan.lower()}", kind=kind, plan_sku=plan)
    emu.deployment_behaviour(fn, polls=1)
    scm = Scm(sc, fn.scm_host_name)
    dep_id = scm.publish(zip_package("fn")).headers["SCM-DEPLOYMENT-ID"]
    assert scm.status(dep_id)["status"] == 4 and emu.build_of(fn) == "fn"


def test_regional_slot_scm_host_and_deployment_listing(emu):
    sc = make_scenario(emu, "secret", regional=True)
    assert ".scm.westeurope-01.azurewebsites.net" in sc.slot.scm_host_name
    emu.deployment_behaviour(sc.slot, polls=1, stale_latest=False)
    scm = Scm(sc, sc.slot.scm_host_name)
    ids = []
    for build in ("b1", "b2"):
        ids.append(scm.publish(zip_package(build)).headers["SCM-DEPLOYMENT-ID"])
        assert scm.get("/api/deployments/latest").json()["status"] == 4
    listed = scm.get("/api/deployments").json()
    assert [d["id"] for d in listed] == ids[::-1]
    assert [d["active"] for d in listed] == [True, False]
    assert listed[0]["last_success_end_time"] >= listed[1]["end_time"]
    assert emu.build_of(sc.slot) == "b2"


def test_china_cloud_scm_takes_china_arm_tokens(emu):
    sc = make_scenario(emu, "secret", cloud="china")
    assert sc.site.scm_host_name.endswith(".scm.chinacloudsites.cn")
    scm = Scm(sc, sc.site.scm_host_name, scope="https://management.chinacloudapi.cn/.default")
    assert scm.publish(zip_package("cn")).status_code == 202
    vault_token = Scm(sc, sc.site.scm_host_name, scope="https://vault.azure.cn/.default")
    assert vault_token.get("/api/deployments").status_code == 401
