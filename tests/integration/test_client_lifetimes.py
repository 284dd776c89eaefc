"""Who builds and closes clients: the hook alone. A sensor's pokes share one SCM pipeline, closed
when the sensor ends; triggers take their clients from the hook's per-loop cache, which is empty
again once the trigger has finished, failed or been cancelled. Real SDK and azure-core clients over
TLS against the emulator; the builders are spied on (they still run), never replaced."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from typing import Any

import pytest
from azure.core.rest import HttpRequest

from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operations.sites import get_site
from airflow_provider_appservice.sensors.deployment import AppServiceDeploymentSensor
from airflow_provider_appservice.transport import app as app_transport
from airflow_provider_appservice.transport import scm as scm_transport
from airflow_provider_appservice.triggers.deployment import AppServiceDeploymentTrigger
from airflow_provider_appservice.triggers.health import AppServiceHealthTrigger


class RecordingTI:
    """The one thing of an Airflow context these sensors touch: XCom pushes."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def spy(monkeypatch, module, name: str) -> list[Any]:
    """Record every client a transport builder returns (the real builder still builds it)."""
    built: list[Any] = []
    real = getattr(module, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        client = real(*args, **kwargs)
        built.append(client)
        return client

    monkeypatch.setattr(module, name, recording)
    return built


def deploy_without_waiting(world, tmp_path) -> str:
    from airflow_provider_appservice.operations.deploy import upload
    from airflow_provider_appservice.operations.packages import PackageSpec
    from airflow_provider_appservice.operations.targets import AppTarget
    from airflow_provider_appservice.testing.clock import FakeClock

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("BUILD", "sensed\n")
    package = tmp_path / "site.zip"
    package.write_bytes(buf.getvalue())
    with AppServiceHook() as hook:
        site = get_site(hook.get_conn(), world.resource_group, "shop")
        spec = PackageSpec(type="zip", path=str(package), size=package.stat().st_size)
        result = upload(
            hook.get_scm_client(str(site.scm_host_name)),
            AppTarget(world.resource_group, "shop", None),
            spec,
            clean=None,
            restart=None,
            deadline=600,
            clock=FakeClock(),
        )
    assert result.deployment_id
    return str(result.deployment_id)


def kudu_status_polls(emu, deployment_id: str) -> int:
    return sum(1 for r in emu.requests if r.kind == "scm" and r.path == f"/api/deployments/{deployment_id}")


def test_the_deployment_sensor_polls_through_one_scm_client_and_closes_it(world, contributor, tmp_path, monkeypatch):
    world.emu.deployment_behaviour(world.site, polls=4)
    deployment_id = deploy_without_waiting(world, tmp_path)
    built = spy(monkeypatch, scm_transport, "build_scm_client")
    sensor = AppServiceDeploymentSensor(
        task_id="sense", app_name="shop", deployment_id=deployment_id, poke_interval=0, timeout=60
    )
    pokes = []
    real_poke = sensor.poke

    def counting_poke(context):
        pokes.append(1)
        return real_poke(context)

    monkeypatch.setattr(sensor, "poke", counting_poke)
    ti = RecordingTI()
    result = sensor.execute({"ti": ti})
    assert result["deployment_id"] == deployment_id and ti.xcom  # a log link was pushed
    assert len(pokes) >= 3 and kudu_status_polls(world.emu, deployment_id) >= 3
    assert len(built) == 1, f"{len(pokes)} pokes built {len(built)} SCM clients"
    with pytest.raises(ValueError, match="closed"):  # closed when the sensor ended
        built[0].send_request(HttpRequest("GET", built[0].format_url("/api/deployments")))


def test_a_health_trigger_takes_its_client_from_the_hook_and_leaves_the_cache_empty(world, contributor, monkeypatch):
    built = spy(monkeypatch, app_transport, "build_async_app_client")
    host = world.site.default_host_name

    def trigger(required: int = 1) -> AppServiceHealthTrigger:
        return AppServiceHealthTrigger(
            azure_app_service_conn_id="azure_app_service_default",
            resource_group=world.resource_group,
            app_name="shop",
            poll_interval=0,
            path="/healthz",
            scope=None,
            hosts=[host],
            base_url=f"https://{host}",
            required_consecutive=required,
            check={"expected_status": [200]},
            request_timeout=10,
            deadline=time.time() + 600,
        )

    async def scenario() -> list[int]:
        counts = []
        first, second = trigger().run(), trigger().run()
        # As the triggerer does: take the first event, then close the generator.
        assert (await first.__anext__()).payload["status"] == "success"
        assert (await second.__anext__()).payload["status"] == "success"
        counts.append(AppServiceHook.shared_client_count())  # both hold the one shared pipeline
        await first.aclose()
        counts.append(AppServiceHook.shared_client_count())
        await second.aclose()
        counts.append(AppServiceHook.shared_client_count())
        return counts

    assert asyncio.run(scenario()) == [1, 1, 0]
    assert len(built) == 1, "two triggers of one loop share one app pipeline from the hook"


def test_a_cancelled_health_trigger_releases_the_shared_client(world, contributor):
    from airflow_provider_appservice.testing import Health

    world.emu.set_health(world.site, "/healthz", Health.unhealthy())
    host = world.site.default_host_name
    trigger = AppServiceHealthTrigger(
        azure_app_service_conn_id="azure_app_service_default",
        resource_group=world.resource_group,
        app_name="shop",
        poll_interval=0,
        path="/healthz",
        scope=None,
        hosts=[host],
        base_url=f"https://{host}",
        required_consecutive=1,
        check={"expected_status": [200]},
        request_timeout=10,
        deadline=time.time() + 600,
    )

    async def scenario() -> tuple[int, int]:
        async def consume() -> None:
            async for _ in trigger.run():
                pass

        task = asyncio.create_task(consume())
        deadline = time.monotonic() + 30
        while world.emu.health_probes(world.site, "/healthz") < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0)  # yields to the trigger; no wall-clock sleep
        held = AppServiceHook.shared_client_count()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return held, AppServiceHook.shared_client_count()

    assert asyncio.run(scenario()) == (1, 0)


def test_the_deployment_trigger_shares_arm_and_scm_clients_and_releases_both(world, contributor, tmp_path, monkeypatch):
    world.emu.deployment_behaviour(world.site, polls=1)
    deployment_id = deploy_without_waiting(world, tmp_path)
    built = spy(monkeypatch, scm_transport, "build_async_scm_client")
    trigger = AppServiceDeploymentTrigger(
        azure_app_service_conn_id="azure_app_service_default",
        resource_group=world.resource_group,
        app_name="shop",
        deployment_id=deployment_id,
        deadline=time.time() + 60,
        poll_interval=0.01,
    )

    async def scenario() -> tuple[dict[str, Any], int, int]:
        events = trigger.run()
        event = (await events.__anext__()).payload
        after_event = AppServiceHook.shared_client_count()
        await events.aclose()
        return event, after_event, AppServiceHook.shared_client_count()

    event, after_event, after_close = asyncio.run(scenario())
    assert event["status"] == "success", event
    assert len(built) == 1
    assert after_event == 0 and after_close == 0, "the ARM and SCM clients are released when the wait ends"
