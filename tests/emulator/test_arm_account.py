"""What az reads and creates around the sites (tests/conformance drives the real CLI through
it; these pin the shapes): subscriptions and tenants, resource groups, plans, site create and
delete, publishing credentials and their policies, instances, and resetSlotConfig from either
side of a preview."""

from __future__ import annotations

import pytest
import requests
from azure.mgmt.web.models import CsmSlotEntity

from .scenarios import make_scenario

API = "?api-version=2024-04-01"


@pytest.fixture
def sc(emu):
    scenario = make_scenario(emu, role=None)
    emu.assign_role(scenario.principal, "Contributor", f"/subscriptions/{scenario.subscription_id}")
    return scenario


@pytest.fixture
def arm(emu, sc):
    token = sc.credential().get_token("https://management.azure.com/.default").token

    def call(method: str, path: str, body: object = None) -> requests.Response:
        return requests.request(
            method,
            f"https://management.azure.com{path}{API}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            verify=emu.ca_path,
            timeout=10,
        )

    return call


def test_subscriptions_and_tenants_show_what_the_caller_holds_a_role_in(emu, sc, arm):
    hidden = emu.add_subscription(sc.tenant)  # same tenant, no assignment
    listed = arm("GET", "/subscriptions").json()["value"]
    assert [s["subscriptionId"] for s in listed] == [sc.subscription_id]
    assert listed[0]["tenantId"] == sc.tenant.tenant_id and listed[0]["state"] == "Enabled"
    assert arm("GET", f"/subscriptions/{sc.subscription_id}").json()["id"] == f"/subscriptions/{sc.subscription_id}"
    missing = arm("GET", f"/subscriptions/{hidden}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "SubscriptionNotFound"
    assert [t["tenantId"] for t in arm("GET", "/tenants").json()["value"]] == [sc.tenant.tenant_id]


def test_groups_plans_and_a_site_created_then_deleted(emu, sc, arm):
    group = f"/subscriptions/{sc.subscription_id}/resourcegroups/rg-new"
    created = arm("PUT", group, {"location": "westeurope"})
    assert created.status_code == 201 and created.json()["name"] == "rg-new"
    assert arm("PUT", group, {"location": "westeurope"}).status_code == 200
    plan_path = f"{group}/providers/Microsoft.Web/serverfarms/plan"
    plan = arm("PUT", plan_path, {"location": "westeurope", "kind": "linux", "sku": {"name": "S1"},
                                  "properties": {"reserved": True}}).json()  # fmt: skip
    assert plan["sku"]["tier"] == "Standard" and plan["properties"]["reserved"] is True
    site_path = f"{group}/providers/Microsoft.Web/sites/made-here"
    answer = arm("PUT", site_path, {"location": "westeurope", "properties": {"serverFarmId": plan["id"]}})
    assert answer.status_code == 200 and answer.headers["etag"].startswith('"')
    body = answer.json()
    assert body["kind"] == "app,linux" and body["properties"]["serverFarmId"] == plan["id"]
    assert body["properties"]["slotName"] is None and "acrUseManagedIdentityCreds" in body["properties"]["siteConfig"]
    assert arm("GET", plan_path).json()["properties"]["numberOfSites"] == 1
    implicit = arm("GET", sc.site.plan_id).json()  # a seeded site's plan answers too
    assert implicit["sku"]["name"] == sc.site.plan_sku
    no_plan = arm("PUT", f"{group}/providers/Microsoft.Web/sites/orphan", {"location": "westeurope"})
    assert no_plan.status_code == 404
    deleted = arm("DELETE", site_path)
    assert deleted.status_code == 200 and deleted.content == b""
    assert arm("GET", site_path).status_code == 404
    assert emu.world.resolve_host("made-here.azurewebsites.net") is None


def test_publishing_credentials_policies_profile_and_instances(emu, sc, arm):
    sc.slot.publishing_password = "canary-pw"
    for base, user in ((sc.site.id, "$app"), (sc.slot.id, "$app__staging")):
        policy = arm("GET", f"{base}/basicPublishingCredentialsPolicies/scm").json()
        assert policy["name"] == "scm" and policy["properties"] == {"allow": False}
        assert policy["type"].endswith("basicPublishingCredentialsPolicies")
        creds = arm("POST", f"{base}/config/publishingcredentials/list").json()["properties"]
        assert creds["publishingUserName"] == user
    assert creds["publishingPassword"] == "canary-pw" and creds["scmUri"].endswith(f"@{sc.slot.scm_host_name}")
    put = arm("PUT", f"{sc.slot.id}/basicPublishingCredentialsPolicies/scm", {"properties": {"allow": True}})
    assert put.json()["properties"]["allow"] is True and sc.slot.basic_auth_enabled and not sc.site.basic_auth_enabled
    assert arm("GET", f"{sc.site.id}/basicPublishingCredentialsPolicies/ftp").json()["properties"]["allow"] is False
    assert arm("GET", f"{sc.site.id}/basicPublishingCredentialsPolicies/other").status_code == 404
    profile = arm("POST", f"{sc.slot.id}/publishxml", {"format": "WebDeploy"})
    assert profile.status_code == 200 and b'publishMethod="ZipDeploy"' in profile.content
    assert b"canary-pw" in profile.content
    instances = arm("GET", f"{sc.site.id}/instances").json()["value"]
    assert len(instances) == 1 and instances[0]["properties"]["state"] == "READY"


@pytest.mark.parametrize("reset_on", ["source", "target", "slots/production"])
def test_reset_slot_config_cancels_a_preview_from_either_side(emu, sc, arm, reset_on):
    apps = sc.sync_client().web_apps
    apps.apply_slot_configuration_slot("rg", "app", "staging", CsmSlotEntity(target_slot="production"))
    assert emu.preview_state(sc.site) == {"source": "staging", "target": "Production", "since": pytest.approx(
        emu.clock(), abs=5)}  # fmt: skip
    path = {"source": sc.slot.id, "target": sc.site.id, "slots/production": f"{sc.site.id}/slots/production"}[reset_on]
    answer = arm("POST", f"{path}/resetSlotConfig")
    assert answer.status_code == 200 and answer.content == b"" and answer.headers["etag"].startswith('"')
    assert emu.preview_state(sc.site) is None and sc.slot.target_swap_slot is None


def test_etags_on_site_reads_and_config_writes_not_on_lists(emu, sc, arm):
    first = arm("GET", sc.site.id).headers["etag"]
    written = arm("PUT", f"{sc.site.id}/config/appsettings", {"properties": {"A": "1"}})
    assert written.status_code == 200 and written.headers["etag"].startswith('"')
    assert arm("PATCH", f"{sc.site.id}/config/web", {"properties": {"alwaysOn": True}}).headers["etag"]
    assert arm("GET", sc.site.id).headers["etag"] == first  # settings are not part of the site's state here
    arm("POST", f"{sc.site.id}/stop")
    assert arm("GET", sc.site.id).headers["etag"] != first
    assert "etag" not in arm("POST", f"{sc.site.id}/config/appsettings/list").headers


def test_patch_of_a_slot_merges_its_config_and_answers_the_full_slot(emu, sc, arm):
    answer = arm("PATCH", sc.slot.id, {"properties": {"siteConfig": {"linuxFxVersion": "DOCKER|nginx:1.27"}}})
    body = answer.json()
    assert answer.status_code == 200 and answer.headers["etag"].startswith('"')
    assert body["name"] == "app/staging" and body["properties"]["siteConfig"]["linuxFxVersion"] == "DOCKER|nginx:1.27"
    assert emu.site_config(sc.slot)[
        "linuxFxVersion"
    ] == "DOCKER|nginx:1.27" and "linuxFxVersion" not in emu.site_config(sc.site)
    gone = arm("DELETE", sc.slot.id)
    assert gone.status_code == 200 and "staging" not in sc.site.slots
