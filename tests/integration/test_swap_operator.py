"""AppServiceSwapSlotsOperator through dag.test() of real DAGs against the emulator (real SDK, real
TLS): swap, preview → complete/cancel, ambiguity, throttling, swap in progress, deferral,
crash safety, permissions, plans without slots and asset events."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest

from airflow_provider_appservice.operators.swap import STATE_KEY, AppServiceSwapSlotsOperator
from airflow_provider_appservice.testing import site_ops
from airflow_provider_appservice.triggers.swap import AppServiceSwapTrigger

from ..support import REPO, load_dag, migrate_db, task_states, xcom_value

pytestmark = pytest.mark.usefixtures("emulator_clock")  # swaps poll with Retry-After: 15

SWAP_DAGS = REPO / "tests" / "dags" / "swap_slots.py"


@pytest.fixture(scope="module")
def dags():
    migrate_db()
    names = ("swap_slots", "swap_slots_deferred", "swap_preview_complete", "swap_preview_cancel")
    return {name: load_dag(SWAP_DAGS, name) for name in names}


@pytest.fixture
def contributor(contributor, world):
    """The shared contributor connection, with production on v1 and staging on v2."""
    sp = contributor
    world.emu.set_build(world.site, "v1")
    world.emu.set_build(world.slot, "v2")
    world.emu.swap_duration_polls = 2
    return sp


def run_dag(dags, name: str, **conf: str) -> Any:
    """dag.test() with every param given: a run_conf sticks to a DAG object across test() calls."""
    return dags[name].test(run_conf={"app_name": "shop", "source_slot": "staging", "target_slot": "production", **conf})


def posts(emu, suffix: str) -> list:
    return [r for r in emu.requests if r.method == "POST" and r.path.endswith(suffix)]


def builds(world) -> tuple[str, str]:
    return world.emu.build_of(world.site), world.emu.build_of(world.slot)


def asset_events(uri: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == uri)
        )
        return [dict(r.extra or {}) for r in rows]


# -- through dag.test() -------------------------------------------------------------------------------


def test_swap_exchanges_builds_and_emits_assets(world, contributor, dags, capfd):
    production_uri = "azure-app-service://rg-shop/shop/production"
    before = len(asset_events(production_uri))
    run = run_dag(dags, "swap_slots")
    assert task_states(run) == {"swap": "success"}
    assert builds(world) == ("v2", "v1")
    assert [r.status for r in posts(world.emu, "/slotsswap")] == [202]
    result = xcom_value(run, "swap")
    assert set(result) == {"action", "source_slot", "target_slot", "status", "duration_seconds"}
    assert result["action"] == "swap" and result["status"] == "succeeded"
    assert (result["source_slot"], result["target_slot"]) == ("staging", "production")
    assert xcom_value(run, "swap", key="appservice_portal_url").endswith("/providers/Microsoft.Web/sites/shop")
    events = asset_events(production_uri)
    assert len(events) == before + 1 and events[-1]["role"] == "target" and events[-1]["action"] == "swap"
    assert asset_events("azure-app-service://rg-shop/shop/staging")[-1]["role"] == "source"
    text = capfd.readouterr()
    audit_lines = [line for line in (text.out + text.err).splitlines() if "AUDIT action=slots-swap" in line]
    assert len(audit_lines) == 1, [line for line in (text.out + text.err).splitlines() if "AUDIT" in line]
    assert "source_slot=staging" in audit_lines[0]
    assert "task_id=swap" in audit_lines[0] and "try_number=1" in audit_lines[0] and "run_id=" in audit_lines[0]


def test_preview_then_cancel_leaves_both_slots_as_they_were(world, contributor, dags):
    emu = world.emu
    emu.set_slot_config_names(world.site, app_settings=["DB"])
    emu.set_app_settings(world.site, {"DB": "prod-db", "SHARED": "p"})
    emu.set_app_settings(world.slot, {"DB": "stage-db", "SHARED": "s"})
    run = run_dag(dags, "swap_preview_cancel")
    assert task_states(run) == {"preview": "success", "cancel": "success"}
    assert [r.status for r in posts(emu, "/applySlotConfig")] == [200]
    assert [r.status for r in posts(emu, "/resetSlotConfig")] == [200]
    assert not posts(emu, "/slotsswap")
    assert emu.preview_state(world.site) is None
    assert builds(world) == ("v1", "v2")
    assert emu.app_settings(world.slot) == {"DB": "stage-db", "SHARED": "s"}
    assert emu.app_settings(world.site) == {"DB": "prod-db", "SHARED": "p"}
    assert xcom_value(run, "preview")["status"] == "succeeded"


def test_preview_then_complete_ends_swapped(world, contributor, dags):
    emu = world.emu
    emu.set_slot_config_names(world.site, app_settings=["DB"])
    emu.set_app_settings(world.site, {"DB": "prod-db", "SHARED": "p"})
    emu.set_app_settings(world.slot, {"DB": "stage-db", "SHARED": "s"})
    run = run_dag(dags, "swap_preview_complete")
    assert task_states(run) == {"preview": "success", "complete": "success"}
    assert builds(world) == ("v2", "v1")
    assert emu.preview_state(world.site) is None
    assert emu.app_settings(world.site) == {"DB": "prod-db", "SHARED": "s"}  # sticky DB stays
    assert emu.app_settings(world.slot) == {"DB": "stage-db", "SHARED": "p"}
    assert [r.status for r in posts(emu, "/slotsswap")] == [202]
    assert xcom_value(run, "complete")["action"] == "complete"


def test_complete_without_a_pending_preview_fails_clearly(world, contributor):
    op = _operator(action="complete")
    with pytest.raises(Exception, match="No swap with preview from 'staging' to 'production' is pending"):
        op.execute(FakeContext())
    assert not posts(world.emu, "/slotsswap")


@pytest.mark.parametrize("failure", [{"status": 500}, {"reset": True}], ids=["500", "reset"])
def test_an_ambiguous_swap_is_not_resent_once_applied(world, contributor, dags, failure):
    world.emu.fault(method="POST", path=r"/slotsswap$", apply_then_fail=True, **failure)
    run = run_dag(dags, "swap_slots")
    assert task_states(run) == {"swap": "success"}
    assert len(posts(world.emu, "/slotsswap")) == 1, "an applied swap is never re-sent"
    assert builds(world) == ("v2", "v1")
    assert xcom_value(run, "swap")["status"] == "verified-by-state"


def test_an_ambiguous_swap_that_state_cannot_confirm_fails_without_resending(world, contributor, dags, capfd):
    world.emu.fault(status=502, method="POST", path=r"/slotsswap$")  # refused before the route: not applied
    run = run_dag(dags, "swap_slots")
    assert task_states(run) == {"swap": "failed"}
    assert len(posts(world.emu, "/slotsswap")) == 1
    assert builds(world) == ("v1", "v2")
    text = capfd.readouterr()
    assert "It was not re-sent" in text.out + text.err


def test_a_throttled_swap_is_resent_after_retry_after(world, contributor, dags):
    world.emu.fault(status=429, method="POST", path=r"/slotsswap$", times=1, retry_after_ms=20)
    run = run_dag(dags, "swap_slots")
    assert task_states(run) == {"swap": "success"}
    assert [r.status for r in posts(world.emu, "/slotsswap")] == [429, 202]
    assert builds(world) == ("v2", "v1")


def test_a_swap_in_progress_is_reported(world, contributor, dags, capfd):
    emu = world.emu
    qa = emu.add_slot(world.site, "qa")
    emu.swap_duration_polls = 1000
    site_ops.start_swap(emu.world, qa, world.site)  # someone else swaps qa into production
    run = run_dag(dags, "swap_slots")
    assert task_states(run) == {"swap": "failed"}
    assert [r.status for r in posts(emu, "/slotsswap")] == [409]
    text = capfd.readouterr()
    out = text.out + text.err
    assert "SwapInProgress" in out and "swap operation in progress" in out
    emu.finish_swaps(world.site)
    assert builds(world) == ("initial", "v2")  # qa's build went to production, staging untouched


def test_deferred_swap_resumes_the_poller_in_the_trigger(world, contributor, dags):
    world.emu.swap_duration_polls = 3
    run = run_dag(dags, "swap_slots_deferred")
    assert task_states(run) == {"swap": "success"}
    assert builds(world) == ("v2", "v1")
    assert [r.status for r in posts(world.emu, "/slotsswap")] == [202]
    polls = [r.status for r in world.emu.requests if "/operationresults/" in r.path]
    assert polls and polls[-1] == 200 and set(polls[:-1]) <= {202}
    assert xcom_value(run, "swap")["status"] == "succeeded"


def test_deferred_swap_whose_answer_was_lost_waits_by_state_in_the_trigger(world, contributor, dags):
    world.emu.fault(status=504, method="POST", path=r"/slotsswap$", apply_then_fail=True)
    run = run_dag(dags, "swap_slots_deferred")
    assert task_states(run) == {"swap": "success"}
    assert len(posts(world.emu, "/slotsswap")) == 1 and builds(world) == ("v2", "v1")
    assert not [r for r in world.emu.requests if "/operationresults/" in r.path]  # no token: by state


def test_swapping_production_into_a_slot(world, contributor, dags):
    run = run_dag(dags, "swap_slots", source_slot="production", target_slot="staging")
    assert task_states(run) == {"swap": "success"}
    (post,) = posts(world.emu, "/slotsswap")
    assert "/slots/" not in post.path and post.status == 202
    assert builds(world) == ("v2", "v1")
    assert xcom_value(run, "swap")["source_slot"] == "production"


def test_the_trigger_gives_up_at_its_deadline_saying_the_swap_may_still_finish(world, contributor):
    import asyncio

    emu = world.emu
    emu.swap_duration_polls = 10_000
    site_ops.start_swap(emu.world, world.slot, world.site)
    trigger = AppServiceSwapTrigger(
        azure_app_service_conn_id="azure_app_service_default",
        resource_group="rg-shop",
        app_name="shop",
        slot="staging",
        target_slot=None,
        poll_interval=0.05,
        deadline=time.time() + 0.5,
        started=time.time(),
    )

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["status"] == "timeout" and "may still complete" in payload["message"]
    emu.finish_swaps(world.site)


def _token(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps({"version": 1, "data": data}).encode()).decode()


@pytest.mark.parametrize(
    ("request_headers", "location", "problem"),
    [
        ({"Authorization": "Bearer abc"}, "https://management.azure.com/x/operationresults/1", "Authorization"),
        ({"x-ms-client-request-id": "1"}, "https://evil.example/x/operationresults/1", "not an https URL"),
        ({"x-ms-client-request-id": "1"}, "http://management.azure.com/x", "not an https URL"),
    ],
)
def test_a_continuation_token_with_anything_unexpected_is_refused(request_headers, location, problem):
    from airflow_provider_appservice.errors import AppServiceError
    from airflow_provider_appservice.operations.swap import check_continuation_token

    good = {
        "request": {"method": "POST", "url": "https://management.azure.com/x/slotsswap", "headers": {}},
        "response": {"status_code": 202, "headers": {"Location": "https://management.azure.com/x/o/1"}, "content": ""},
    }
    assert check_continuation_token(_token(good), "management.azure.com")
    bad = {
        "request": {**good["request"], "headers": request_headers},
        "response": {**good["response"], "headers": {"Location": location}},
    }
    with pytest.raises(AppServiceError, match=problem):
        check_continuation_token(_token(bad), "management.azure.com")


def test_missing_role_names_the_swap_action(world, use_conn, dags, capfd):
    reader = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(reader, "Reader", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default",
        world.conn("service_principal_secret", login=reader.client_id, password=reader.secret),
    )
    run = run_dag(dags, "swap_slots")
    assert task_states(run) == {"swap": "failed"}
    text = capfd.readouterr()
    out = text.out + text.err
    assert "Microsoft.Web/sites/slots/slotsswap/action" in out and "Website Contributor" in out
    assert len(posts(world.emu, "/slotsswap")) == 1


def test_a_plan_without_slots_fails_naming_the_plan(world, contributor, dags, capfd):
    world.emu.add_site(world.subscription_id, "rg-shop", "tiny", plan_sku="B1")
    run = run_dag(dags, "swap_slots", app_name="tiny")
    assert task_states(run) == {"swap": "failed"}
    text = capfd.readouterr()
    out = text.out + text.err
    assert "SlotsNotSupported" in out and "Basic tier" in out and "App Service plan '" in out
    assert not posts(world.emu, "/slotsswap")


# -- the trigger and crash safety, on the operator's own methods ------------------------------------------


def test_trigger_serialize_round_trips_through_json():
    trigger = AppServiceSwapTrigger(
        azure_app_service_conn_id="c",
        resource_group="rg",
        app_name="shop",
        slot="staging",
        target_slot=None,
        poll_interval=0.5,
        continuation_token="eyJ2ZXJzaW9uIjoxfQ==",
        before="2026-01-01T00:00:00+00:00",
        pending_before=False,
        deadline=1234.5,
        started=1200.0,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_appservice.triggers.swap.AppServiceSwapTrigger"
    again = AppServiceSwapTrigger(**json.loads(json.dumps(kwargs)))
    assert again.serialize() == (classpath, kwargs)


class DictStore:
    """A dict-backed ``task_state_store`` (the Azure side stays the real emulator)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.data[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class FakeTI:
    stats_tags: dict[str, str] = {}

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class FakeContext(dict):
    def __init__(self, store: DictStore | None = None) -> None:
        super().__init__(ti=FakeTI(), task_state_store=store or DictStore())


def _operator(**kwargs: Any) -> AppServiceSwapSlotsOperator:
    args = {"app_name": "shop", "source_slot": "staging", "poll_interval": 0.05, "timeout": 30}
    return AppServiceSwapSlotsOperator(task_id=f"swap_{time.monotonic_ns()}", **{**args, **kwargs})


def test_the_stored_continuation_token_holds_no_secret(world, contributor):
    context = FakeContext()
    op = _operator()
    record = op.submit_job(context)
    token = record["token"]
    decoded = base64.b64decode(token).decode()
    body = json.loads(decoded)["data"]
    assert body["request"]["method"] == "POST" and "/slots/staging/slotsswap" in body["request"]["url"]
    assert set(body["request"]["headers"]) <= {"x-ms-client-request-id"}
    headers = {k.lower(): v for k, v in body["response"]["headers"].items()}
    assert "/operationresults/" in headers["location"]
    lowered = decoded.lower()
    assert "authorization" not in lowered and "bearer" not in lowered
    assert contributor.secret not in decoded
    for issued in world.emu.issued_tokens():
        assert issued not in decoded
    assert context["task_state_store"].get(STATE_KEY)["token"] is None  # written before the POST
    world.emu.finish_swaps(world.site)


@pytest.mark.parametrize("lost", ["nothing", "token"], ids=["token-stored", "crash-before-token"])
def test_a_retried_task_reconnects_instead_of_reposting(world, contributor, lost):
    world.emu.swap_duration_polls = 4
    store = DictStore()
    first = _operator()
    record = first.submit_job(FakeContext(store))  # POSTed; then the worker "dies"
    if lost == "token":
        record = {**record, "token": None}
    store.set(STATE_KEY, record)
    assert world.emu.swap_in_progress(world.site)

    retry = _operator()
    result = retry.execute(FakeContext(store))
    assert [r.status for r in posts(world.emu, "/slotsswap")] == [202], "the retry must not POST again"
    assert builds(world) == ("v2", "v1")
    assert result["status"] in ("succeeded", "already-succeeded")
    assert store.get(STATE_KEY) is None  # done: clearing the task later swaps again

    # A retry after the swap finished returns at once, again without a POST.
    store.set(STATE_KEY, record)
    again = _operator().execute(FakeContext(store))
    assert again["status"] == "already-succeeded"
    assert len(posts(world.emu, "/slotsswap")) == 1 and builds(world) == ("v2", "v1")


def test_killing_the_task_during_its_preview_cancels_the_preview(world, contributor):
    emu = world.emu
    emu.set_slot_config_names(world.site, app_settings=["DB"])
    emu.set_app_settings(world.site, {"DB": "prod-db"})
    emu.set_app_settings(world.slot, {"DB": "stage-db"})
    # Slow reads of the staging slot keep the task in its preview wait long enough to kill it.
    emu.fault(method="GET", path=r"/slots/staging$", delay=0.3, times=None)
    op = _operator(action="preview", timeout=3)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(FakeContext())
        except BaseException as exc:  # the wait ends once the preview is gone
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while emu.preview_state(world.site) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emu.preview_state(world.site) is not None
    assert emu.app_settings(world.slot) == {"DB": "prod-db"}  # staging runs with production's settings
    op.on_kill()
    worker.join(15)
    emu.clear_faults()
    assert emu.preview_state(world.site) is None
    assert emu.app_settings(world.slot) == {"DB": "stage-db"}
    assert [r.status for r in posts(emu, "/resetSlotConfig")] == [200]
    assert builds(world) == ("v1", "v2")


# -- a deferred preview -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preview_dag():
    migrate_db()
    return load_dag(SWAP_DAGS, "swap_preview_deferred")


def _never_shows_preview(world) -> Any:
    """A second app whose staging slot, as ARM shows it, never gets a targetSwapSlot."""
    from airflow_provider_appservice.testing.arm_sites import site_json

    shop2 = world.emu.add_site(world.subscription_id, world.resource_group, "shop2")
    staging2 = world.emu.add_slot(shop2, "staging")
    world.emu.fault(method="GET", path=r"/sites/shop2/slots/staging$", status=200, body=site_json(staging2), times=None)
    return shop2


def test_deferred_preview_shows_on_the_source_or_fails_at_its_own_deadline(world, contributor, preview_dag, capfd):
    emu = world.emu
    emu.set_slot_config_names(world.site, app_settings=["DB"])
    emu.set_app_settings(world.site, {"DB": "prod-db"})
    emu.set_app_settings(world.slot, {"DB": "stage-db"})
    shop2 = _never_shows_preview(world)
    run = preview_dag.test()
    emu.clear_faults()
    assert task_states(run) == {"previews": "success", "never_shows": "failed"}
    pending = emu.preview_state(world.site)
    assert pending is not None and (pending["source"], pending["target"].lower()) == ("staging", "production")
    assert emu.app_settings(world.slot) == {"DB": "prod-db"}  # staging runs with production's settings
    value = xcom_value(run, "previews")
    assert value["action"] == "preview" and value["status"] == "succeeded" and value["source_slot"] == "staging"
    text = capfd.readouterr().out
    assert text.count("Deferring: the triggerer waits") == 2
    # The trigger's own deadline ended the wait (not Airflow's trigger timeout), saying what to check.
    assert "The preview of shop2 (staging -> production) did not show on the source within 0.5s" in text
    assert "TaskDeferralTimeout" not in text
    assert builds(world) == ("v1", "v2")  # a preview swaps nothing
    assert emu.preview_state(shop2) is not None  # it was applied; ARM (faked) never showed it
    site_ops.reset_slot_config(emu.world, shop2.slots["staging"])


def _preview_trigger(deadline: float) -> Any:
    from airflow_provider_appservice.triggers.swap import AppServiceSwapPreviewTrigger

    return AppServiceSwapPreviewTrigger(
        azure_app_service_conn_id="azure_app_service_default",
        resource_group="rg-shop",
        app_name="shop",
        slot="staging",
        target_slot=None,
        poll_interval=0.05,
        deadline=deadline,
        timeout=30,
    )


def test_killing_a_deferred_preview_cancels_it_from_the_triggerer(world, contributor):
    """As the triggerer does on a user's kill: the run is cancelled, then on_kill() runs."""
    import asyncio

    from airflow_provider_appservice.testing.arm_sites import site_json

    emu = world.emu
    emu.set_slot_config_names(world.site, app_settings=["DB"])
    emu.set_app_settings(world.site, {"DB": "prod-db"})
    emu.set_app_settings(world.slot, {"DB": "stage-db"})
    shown_before = site_json(world.slot)  # keeps the trigger waiting: ARM "does not show" the preview yet
    site_ops.apply_slot_config(emu.world, world.slot, world.site)
    waiting = emu.fault(method="GET", path=r"/sites/shop/slots/staging$", status=200, body=shown_before, times=None)
    trigger = _preview_trigger(time.time() + 30)

    async def kill_while_waiting() -> None:
        async def consume() -> None:
            async for _ in trigger.run():
                raise AssertionError("the trigger must still be waiting")

        task = asyncio.ensure_future(consume())
        while waiting.hits < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        waiting.remove()
        await trigger.on_kill()

    asyncio.run(kill_while_waiting())
    assert emu.preview_state(world.site) is None
    assert emu.app_settings(world.slot) == {"DB": "stage-db"}
    assert [r.status for r in posts(emu, "/resetSlotConfig")] == [200]
    assert builds(world) == ("v1", "v2")


def test_the_preview_triggers_on_kill_resets_nothing_when_no_preview_of_its_pair_is_pending(world, contributor):
    import asyncio

    asyncio.run(_preview_trigger(time.time() + 30).on_kill())
    assert posts(world.emu, "/resetSlotConfig") == []
