"""ARM writes on sites and slots with the real SDK clients: restart/start/stop, slot swap in the
recorded shape (202 + Location, polls, 200 with the site), swap with preview, ambiguous failures
and plans without slots."""

from __future__ import annotations

import asyncio
import base64

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ServiceRequestError, ServiceResponseError
from azure.mgmt.web.models import CsmSlotEntity

from .scenarios import make_scenario

TO_STAGING = CsmSlotEntity(target_slot="staging", preserve_vnet=True)
TO_PRODUCTION = CsmSlotEntity(target_slot="production", preserve_vnet=True)


@pytest.fixture(autouse=True)
def fast_swap_polls(emu):
    """These tests poll with bare SDK clients (no EmulatorClock), so they take the fast knob."""
    emu.lro_retry_after, emu.lro_retry_after_ms = None, 10


def _raw(pipeline_response, deserialized, headers):
    return pipeline_response.http_response


def _arm(emu, path_end: str, method: str | None = None):
    return [r for r in emu.requests if r.kind == "arm" and r.path.endswith(path_end) and method in (None, r.method)]


# -- restart / start / stop -------------------------------------------------------------------------
def test_restart_start_stop_answer_200_with_an_empty_body(emu):
    sc = make_scenario(emu)
    apps = sc.sync_client().web_apps
    response = apps.restart("rg", "app", soft_restart=True, synchronous=True, cls=_raw)
    assert response.status_code == 200 and response.body() == b""
    assert response.headers["content-length"] == "0" and "content-type" not in response.headers
    assert "location" not in response.headers
    assert int(response.headers["x-ms-ratelimit-remaining-subscription-writes"]) > 0
    assert emu.restarts(sc.site) == 1 and emu.site_state(sc.site) == "Running"
    assert emu.restart_log(sc.site)[0].soft is True and emu.restart_log(sc.site)[0].synchronous is True

    apps.stop("rg", "app")
    assert emu.site_state(sc.site) == "Stopped" and apps.get("rg", "app").state == "Stopped"
    page = requests.get(f"https://{sc.site.default_host_name}/", verify=emu.ca_path, timeout=10)
    assert page.status_code == 403 and "This web app is stopped" in page.text
    assert emu.site_state(sc.slot) == "Running"  # the slot has its own state

    apps.start("rg", "app")
    assert apps.get("rg", "app").state == "Running"
    apps.restart_slot("rg", "app", "staging")
    apps.stop_slot("rg", "app", "staging")
    assert emu.restarts(sc.slot) == 1 and emu.restart_log(sc.slot)[0].soft is None
    assert emu.site_state(sc.slot) == "Stopped" and emu.site_state(sc.site) == "Running"
    assert [r.status for r in _arm(emu, "/stop")] == [200, 200]
    get = apps.get("rg", "app", cls=_raw)
    assert "x-ms-ratelimit-remaining-subscription-reads" in get.headers


def test_lifecycle_aio(emu):
    sc = make_scenario(emu)

    async def main() -> None:
        async with sc.aio_client() as client:
            await client.web_apps.stop_slot("rg", "app", "staging")
            assert (await client.web_apps.get_slot("rg", "app", "staging")).state == "Stopped"
            await client.web_apps.start_slot("rg", "app", "staging")
            await client.web_apps.restart("rg", "app", soft_restart=False)

    asyncio.run(main())
    assert emu.site_state(sc.slot) == "Running" and emu.restarts(sc.site) == 1


@pytest.mark.parametrize(
    ("call", "action"),
    [
        (lambda a: a.restart("rg", "app"), "Microsoft.Web/sites/restart/action"),
        (lambda a: a.stop_slot("rg", "app", "staging"), "Microsoft.Web/sites/slots/stop/action"),
        (
            lambda a: a.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION),
            "Microsoft.Web/sites/slots/slotsswap/action",
        ),
        (lambda a: a.reset_production_slot_config("rg", "app"), "Microsoft.Web/sites/resetSlotConfig/action"),
    ],
)
def test_reader_may_not_write(emu, call, action):
    sc = make_scenario(emu, role="Reader")
    with pytest.raises(HttpResponseError) as info:
        call(sc.sync_client().web_apps)
    assert info.value.status_code == 403 and f"'{action}'" in info.value.error.message
    assert emu.site_state(sc.site) == "Running" and emu.restarts(sc.site) == 0


# -- swap --------------------------------------------------------------------------------------------
def _seed(emu, sc):
    emu.set_build(sc.site, "v1")
    emu.set_build(sc.slot, "v2")
    emu.set_app_settings(sc.site, {"ENV": "prod", "FEATURE": "old", "SHARED": "p"})
    emu.set_app_settings(sc.slot, {"ENV": "staging", "FEATURE": "new"})
    emu.set_connection_strings(sc.site, {"db": ("prod-db", "SQLAzure"), "cache": ("old-cache", "RedisCache")})
    emu.set_connection_strings(sc.slot, {"db": ("staging-db", "SQLAzure"), "cache": ("new-cache", "RedisCache")})
    emu.set_slot_config_names(sc.site, app_settings=["ENV"], connection_strings=["db"])


def _assert_swapped(emu, sc):
    assert emu.build_of(sc.site) == "v2" and emu.build_of(sc.slot) == "v1"
    assert emu.app_settings(sc.site) == {"ENV": "prod", "FEATURE": "new"}
    assert emu.app_settings(sc.slot) == {"ENV": "staging", "FEATURE": "old", "SHARED": "p"}
    assert emu.connection_strings(sc.site) == {
        "db": {"value": "prod-db", "type": "SQLAzure"},
        "cache": {"value": "new-cache", "type": "RedisCache"},
    }
    assert emu.connection_strings(sc.slot)["cache"]["value"] == "old-cache"
    assert emu.connection_strings(sc.slot)["db"]["value"] == "staging-db"


def test_swap_with_production_polls_its_location_then_gets_the_site(emu):
    sc = make_scenario(emu)
    _seed(emu, sc)
    poller = sc.sync_client().web_apps.begin_swap_slot_with_production("rg", "app", TO_STAGING)
    assert poller.result() is None and poller.status() == "Succeeded"
    _assert_swapped(emu, sc)
    post = _arm(emu, "/slotsswap", "POST")
    assert [r.status for r in post] == [202]
    polls = [r for r in emu.requests if "/operationresults/" in r.path]
    assert [r.status for r in polls] == [202, 202, 200]
    assert {r.path.rsplit("/", 1)[0] for r in polls} == {f"{sc.site.id}/operationresults"}
    status = emu.swap_status(sc.site)
    assert status is not None and status["sourceSlotName"] == "Production"
    assert status["destinationSlotName"] == "staging"
    page = requests.get(f"https://{sc.site.default_host_name}/", verify=emu.ca_path, timeout=10)
    assert page.status_code == 200 and "build: v2" in page.text


def test_slot_swap_202_shape_and_final_body(emu):
    sc = make_scenario(emu)
    emu.swap_duration_polls = 1
    emu.lro_retry_after, emu.lro_retry_after_ms = 15, None  # the defaults: only checked here, never waited for
    token = sc.credential().get_token("https://management.azure.com/.default").token
    auth = {"Authorization": f"Bearer {token}"}
    response = requests.post(
        f"https://management.azure.com{sc.slot.id}/slotsswap?api-version=2025-05-01",
        json={"targetSlot": "production", "preserveVnet": True},
        headers=auth,
        verify=emu.ca_path,
        timeout=10,
    )
    assert response.status_code == 202 and response.content == b""
    assert "azure-asyncoperation" not in response.headers
    location = response.headers["location"]
    assert location.startswith(f"https://management.azure.com{sc.slot.id}/operationresults/")
    assert location.endswith("?api-version=2025-05-01")
    assert response.headers["retry-after"] == "15" and "retry-after-ms" not in response.headers
    assert response.headers["etag"].startswith('"')
    first = requests.get(location, headers=auth, verify=emu.ca_path, timeout=10)
    assert first.status_code == 202 and first.content == b""
    assert first.headers["retry-after"] == "15" and first.headers["location"] == location
    assert "retry-after-ms" not in first.headers and "etag" not in first.headers
    done = requests.get(location, headers=auth, verify=emu.ca_path, timeout=10)
    assert done.status_code == 200 and done.headers["etag"].startswith('"')
    body = done.json()
    assert body["name"] == "app/staging" and body["type"] == "Microsoft.Web/sites/slots"
    assert body["properties"]["slotSwapStatus"]["destinationSlotName"] == "Production"
    assert body["properties"]["slotSwapStatus"]["sourceSlotName"] == "staging"
    again = requests.get(location, headers=auth, verify=emu.ca_path, timeout=10)
    assert again.status_code == 200
    missing = requests.get(location.replace("/operationresults/", "/operationresults/0"), headers=auth,
                           verify=emu.ca_path, timeout=10)  # fmt: skip
    assert missing.status_code == 404 and missing.json()["Code"] == "NotFound"


def test_slot_swap_aio_and_sticky_settings(emu):
    sc = make_scenario(emu)
    _seed(emu, sc)

    async def main() -> None:
        async with sc.aio_client() as client:
            poller = await client.web_apps.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION, polling_interval=0)
            await poller.result()
            slot = await client.web_apps.get_slot("rg", "app", "staging")
            assert slot.slot_swap_status.source_slot_name == "staging"
            assert slot.slot_swap_status.destination_slot_name == "Production"
            assert slot.target_swap_slot is None

    asyncio.run(main())
    _assert_swapped(emu, sc)


def test_a_second_swap_is_refused_while_one_runs(emu):
    sc = make_scenario(emu)
    emu.swap_duration_polls = 5
    apps = sc.sync_client().web_apps
    apps.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION, polling=False)
    assert emu.swap_in_progress(sc.site)
    slot = apps.get_slot("rg", "app", "staging")
    assert slot.slot_swap_status.destination_slot_name == "Production" and slot.target_swap_slot == "Production"
    with pytest.raises(ResourceExistsError) as info:
        apps.begin_swap_slot_with_production("rg", "app", TO_STAGING, retry_total=0)
    body = info.value.response.json()
    assert info.value.status_code == 409 and body["Code"] == "Conflict"
    assert "swap operation in progress" in body["Message"]
    assert "retry-after" not in info.value.response.headers  # azure-core would re-POST on it
    with pytest.raises(ResourceExistsError):
        apps.apply_slot_configuration_slot("rg", "app", "staging", TO_PRODUCTION)
    assert emu.build_of(sc.site) == "initial"
    emu.finish_swaps(sc.site)
    assert not emu.swap_in_progress(sc.site)
    apps.begin_swap_slot_with_production("rg", "app", TO_STAGING, polling_interval=0).result()


def test_swap_duration_on_the_emulator_clock(emu):
    sc = make_scenario(emu)
    emu.set_build(sc.slot, "v2")
    emu.swap_duration_polls = None
    emu.swap_duration_seconds = 60
    apps = sc.sync_client().web_apps
    apps.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION, polling=False)
    for _ in range(3):
        apps.get("rg", "app")
    assert emu.swap_in_progress(sc.site) and emu.build_of(sc.site) == "initial"
    emu.advance(61)
    assert not emu.swap_in_progress(sc.site) and emu.build_of(sc.site) == "v2"


def test_swap_exchanges_the_container_image_but_not_sticky_config(emu):
    sc = make_scenario(emu)
    apps = sc.sync_client().web_apps
    apps.update_configuration("rg", "app", {"properties": {"linuxFxVersion": "DOCKER|app:1", "alwaysOn": True}})
    apps.update_configuration_slot("rg", "app", "staging", {"properties": {"linuxFxVersion": "DOCKER|app:2"}})
    apps.begin_swap_slot_with_production("rg", "app", TO_STAGING, polling_interval=0).result()
    assert apps.get_configuration("rg", "app").linux_fx_version == "DOCKER|app:2"
    assert emu.site_config(sc.slot) == {"linuxFxVersion": "DOCKER|app:1"}
    assert emu.site_config(sc.site)["alwaysOn"] is True


@pytest.mark.parametrize(
    ("target", "status", "code"), [("nosuchslot", 404, "NotFound"), ("staging", 400, "BadRequest")]
)
def test_swap_to_a_missing_slot_or_to_itself(emu, target, status, code):
    sc = make_scenario(emu)
    with pytest.raises(HttpResponseError) as info:
        sc.sync_client().web_apps.begin_swap_slot(
            "rg", "app", "staging", CsmSlotEntity(target_slot=target, preserve_vnet=True)
        )
    assert info.value.status_code == status and info.value.response.json()["Code"] == code


# -- swap with preview -------------------------------------------------------------------------------
def test_preview_then_reset_leaves_both_slots_as_they_were(emu):
    sc = make_scenario(emu)
    _seed(emu, sc)
    before = (emu.app_settings(sc.site), emu.app_settings(sc.slot), emu.connection_strings(sc.slot))
    apps = sc.sync_client().web_apps
    response = apps.apply_slot_configuration_slot("rg", "app", "staging", TO_PRODUCTION, cls=_raw)
    assert response.status_code == 200 and response.body() == b""
    # phase 1: staging runs with production's sticky settings, nothing else moved
    assert emu.app_settings(sc.slot) == {"ENV": "prod", "FEATURE": "new"}
    assert emu.connection_strings(sc.slot)["db"]["value"] == "prod-db"
    assert emu.app_settings(sc.site) == before[0] and emu.build_of(sc.slot) == "v2"
    assert emu.preview_state(sc.site) == {"source": "staging", "target": "Production", "since": pytest.approx(
        emu.clock(), abs=5)}  # fmt: skip
    assert apps.get_slot("rg", "app", "staging").target_swap_slot == "Production"
    apps.apply_slot_configuration_slot("rg", "app", "staging", TO_PRODUCTION)  # idempotent
    with pytest.raises(ResourceExistsError):  # another pair while a preview is pending
        apps.apply_slot_config_to_production("rg", "app", TO_STAGING)

    apps.reset_slot_configuration_slot("rg", "app", "staging")
    assert (emu.app_settings(sc.site), emu.app_settings(sc.slot), emu.connection_strings(sc.slot)) == before
    assert emu.preview_state(sc.site) is None and apps.get_slot("rg", "app", "staging").target_swap_slot is None
    assert [r.status for r in _arm(emu, "/resetSlotConfig")] == [200]


def test_preview_then_complete(emu):
    sc = make_scenario(emu)
    _seed(emu, sc)
    apps = sc.sync_client().web_apps
    apps.apply_slot_configuration_slot("rg", "app", "staging", TO_PRODUCTION)
    apps.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION, polling_interval=0).result()
    _assert_swapped(emu, sc)
    assert emu.preview_state(sc.site) is None


def test_production_preview_variants(emu):
    sc = make_scenario(emu)
    _seed(emu, sc)
    apps = sc.sync_client().web_apps
    apps.apply_slot_config_to_production("rg", "app", TO_STAGING)
    assert emu.app_settings(sc.site)["ENV"] == "staging"
    assert emu.preview_state(sc.site) == {"source": "Production", "target": "staging", "since": pytest.approx(
        emu.clock(), abs=5)}  # fmt: skip
    apps.reset_production_slot_config("rg", "app")
    assert emu.app_settings(sc.site)["ENV"] == "prod" and emu.preview_state(sc.site) is None


# -- ambiguous failures ----------------------------------------------------------------------------
def test_a_swap_can_be_applied_and_still_fail(emu):
    sc = make_scenario(emu)
    emu.set_build(sc.slot, "v2")
    emu.swap_duration_polls = 0
    fault = emu.fault(status=500, path=r"/slotsswap$", method="POST", apply_then_fail=True)
    apps = sc.sync_client().web_apps
    with pytest.raises(HttpResponseError) as info:
        apps.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION, retry_total=0)
    assert info.value.status_code == 500 and fault.hits == 1
    # The swap did start: the first look at the app shows it (and lets it finish).
    slot = apps.get_slot("rg", "app", "staging")
    assert slot.slot_swap_status.destination_slot_name == "Production"
    assert emu.build_of(sc.site) == "v2" and emu.build_of(sc.slot) == "initial"
    assert [r.status for r in _arm(emu, "/slotsswap")] == [500]


def test_a_swap_can_be_applied_and_the_connection_reset(emu):
    sc = make_scenario(emu)
    emu.set_build(sc.slot, "v2")
    emu.fault(reset=True, path=r"/slotsswap$", method="POST", apply_then_fail=True)
    apps = sc.sync_client().web_apps
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        apps.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION, retry_total=0)
    assert emu.swap_in_progress(sc.site)
    emu.finish_swaps()
    assert emu.build_of(sc.site) == "v2"


# -- plans without slots -------------------------------------------------------------------------
@pytest.mark.parametrize(("sku", "kind"), [("B1", "app,linux"), ("F1", "app"), ("Y1", "functionapp,linux")])
def test_plans_without_slots_refuse_swaps(emu, sku, kind):
    sc = make_scenario(emu)
    site = emu.add_site(sc.subscription_id, "rg", "small", kind=kind, plan_sku=sku)
    with pytest.raises(ValueError, match="no deployment slots"):
        emu.add_slot(site, "staging")
    apps = sc.sync_client().web_apps
    for call in (
        lambda: apps.begin_swap_slot_with_production("rg", "small", TO_STAGING),
        lambda: apps.apply_slot_config_to_production("rg", "small", TO_STAGING),
        lambda: apps.reset_production_slot_config("rg", "small"),
    ):
        with pytest.raises(HttpResponseError) as info:
            call()
        assert info.value.status_code == 400
        body = info.value.response.json()
        assert body["Code"] == "BadRequest" and sku in body["Message"]


def test_elastic_premium_function_apps_have_slots(emu):
    sc = make_scenario(emu)
    site = emu.add_site(sc.subscription_id, "rg", "func", kind="functionapp,linux", plan_sku="EP1")
    slot = emu.add_slot(site, "staging")
    emu.set_build(slot, "f2")
    sc.sync_client().web_apps.begin_swap_slot("rg", "func", "staging", TO_PRODUCTION, polling_interval=0).result()
    assert emu.build_of(site) == "f2"


def test_a_swap_resumes_from_its_continuation_token(emu):
    """What a trigger does: one client starts the swap and keeps only the poller's continuation
    token (JSON: request method/URL, response status/headers/body; no Authorization header),
    another client polls it to the end. (``polling=False`` gives no token in azure-core 1.41.)"""
    sc = make_scenario(emu)
    emu.set_build(sc.slot, "v2")
    emu.swap_duration_polls = 3

    async def start() -> str:
        async with sc.aio_client() as client:
            poller = await client.web_apps.begin_swap_slot("rg", "app", "staging", TO_PRODUCTION)
            return poller.continuation_token()

    async def resume(token: str) -> None:
        async with sc.aio_client() as client:
            resumed = await client.web_apps.begin_swap_slot(
                "rg", "app", "staging", TO_PRODUCTION, continuation_token=token, polling_interval=0
            )
            await resumed.result()

    token = asyncio.run(start())
    decoded = base64.b64decode(token).decode()
    assert "/operationresults/" in decoded and "authorization" not in decoded.lower()
    assert emu.swap_in_progress(sc.site)
    asyncio.run(resume(token))
    assert emu.build_of(sc.site) == "v2"
    polls = [r.status for r in emu.requests if "/operationresults/" in r.path]
    assert polls == [202, 202, 202, 200]
    assert [r.status for r in _arm(emu, "/slotsswap")] == [202]  # never re-sent


def test_creating_a_slot(emu):
    sc = make_scenario(emu)
    apps = sc.sync_client().web_apps
    envelope = {
        "location": "westeurope",
        "properties": {"siteConfig": {"appSettings": [{"name": "A", "value": "1"}], "linuxFxVersion": "DOCKER|x:1"}},
    }
    slot = apps.begin_create_or_update_slot("rg", "app", "canary", envelope, polling_interval=0).result()
    assert slot.name == "app/canary" and slot.state == "Running"
    canary = sc.site.slots["canary"]
    assert emu.app_settings(canary) == {"A": "1"} and emu.site_config(canary) == {"linuxFxVersion": "DOCKER|x:1"}
    assert apps.get_slot("rg", "app", "canary").default_host_name == canary.default_host_name
    page = requests.get(f"https://{canary.default_host_name}/", verify=emu.ca_path, timeout=10)
    assert page.status_code == 200 and "image: x:1" in page.text


def test_a_basic_plan_refuses_to_create_a_slot(emu):
    sc = make_scenario(emu)
    emu.add_site(sc.subscription_id, "rg", "basic", plan_sku="B1")
    with pytest.raises(HttpResponseError) as info:
        sc.sync_client().web_apps.begin_create_or_update_slot("rg", "basic", "staging", {"location": "westeurope"})
    assert info.value.status_code == 400 and info.value.response.json()["Code"] == "BadRequest"
    reader = make_scenario(emu, role="Reader", site_name="app2")
    with pytest.raises(HttpResponseError) as info:
        reader.sync_client().web_apps.begin_create_or_update_slot("rg", "app2", "x", {"location": "westeurope"})
    assert info.value.status_code == 403 and "'Microsoft.Web/sites/slots/write'" in info.value.error.message
