"""Container deploys: the image is set for a managed-identity pull, and done means it serves."""

from __future__ import annotations

import pytest

from ..support import REPO, load_dag, migrate_db, task_states, xcom_value


@pytest.fixture(scope="module")
def dag():
    migrate_db()
    return load_dag(REPO / "tests" / "dags" / "container_deploy.py", "container_deploy")


def test_a_healthy_image_is_set_with_managed_identity_pull_and_serves(world, contributor, dag):
    run = dag.test(run_conf={"app_name": "shop", "slot": "staging", "image": "myacr.azurecr.io/shop:2.0"})
    assert task_states(run) == {"deploy_image": "success"}
    config = world.slot.site_config
    assert config["linuxFxVersion"] == "DOCKER|myacr.azurecr.io/shop:2.0"
    assert config["acrUseManagedIdentityCreds"] is True
    assert xcom_value(run, "deploy_image")["healthy"] is True
    probes = [r for r in world.emu.requests if r.host == world.slot.default_host_name]
    assert len(probes) >= 2 and all(r.status == 200 for r in probes[-2:])


def test_a_crash_looping_container_fails_the_deploy_although_state_says_running(world, contributor, dag, capfd):
    world.emu.set_image_behaviour("myacr.azurecr.io/shop:broken", "crashloop")
    run = dag.test(run_conf={"app_name": "shop", "slot": "staging", "image": "myacr.azurecr.io/shop:broken"})
    assert task_states(run) == {"deploy_image": "failed"}
    text = capfd.readouterr().out
    assert "did not serve within" in text and "stays Running while a container crash-loops" in text
    assert world.slot.state == "Running"


def test_a_windows_app_gets_windows_fx_version(world, contributor, dag):
    win = world.emu.add_site(world.subscription_id, world.resource_group, "winshop", kind="app")
    world.emu.add_slot(win, "staging")
    run = dag.test(run_conf={"app_name": "winshop", "slot": "staging", "image": "myacr.azurecr.io/win:1"})
    assert task_states(run) == {"deploy_image": "success"}
    assert win.slots["staging"].site_config["windowsFxVersion"] == "DOCKER|myacr.azurecr.io/win:1"


def test_a_bad_image_reference_fails_before_any_request(world, contributor, dag):
    mark = len(world.emu.requests)
    run = dag.test(run_conf={"app_name": "shop", "slot": "staging", "image": "not an image"})
    assert task_states(run) == {"deploy_image": "failed"}
    assert not [r for r in world.emu.requests[mark:] if r.method != "POST" or "/token" not in r.path]


# -- deferred: the gate runs in the triggerer -------------------------------------------------------


@pytest.fixture(scope="module")
def deferred_dag():
    migrate_db()
    return load_dag(REPO / "tests" / "dags" / "container_deploy.py", "container_deploy_deferred")


def test_deferred_gate_passes_a_serving_image_and_fails_a_crash_loop_at_its_own_deadline(
    world, contributor, deferred_dag, capfd
):
    canary = world.emu.add_slot(world.site, "canary")
    world.emu.set_image_behaviour("myacr.azurecr.io/shop:broken", "crashloop")
    run = deferred_dag.test()
    assert task_states(run) == {"serves": "success", "crashloops": "failed"}
    assert xcom_value(run, "serves") == {
        "app_name": "shop",
        "slot": "staging",
        "image": "myacr.azurecr.io/shop:2.0",
        "healthy": True,
    }
    assert world.slot.site_config["linuxFxVersion"] == "DOCKER|myacr.azurecr.io/shop:2.0"
    assert canary.site_config["linuxFxVersion"] == "DOCKER|myacr.azurecr.io/shop:broken"
    text = capfd.readouterr().out
    assert text.count("Deferring: the triggerer waits") == 2
    # The trigger's own deadline ended the wait (not Airflow's trigger timeout), naming the admin state.
    assert "did not serve within 0.6s" in text and "stays Running while a container crash-loops" in text
    assert "TaskDeferralTimeout" not in text
    probes = [r for r in world.emu.requests if r.host == canary.default_host_name]
    assert probes and all(r.status == 503 for r in probes)
    assert canary.state == "Running"


def test_the_readiness_trigger_ends_at_a_deadline_already_past_after_one_probe(world, contributor):
    import asyncio
    import time

    from airflow_provider_appservice.triggers.container import AppServiceContainerReadyTrigger

    world.emu.set_runtime_behaviour(world.slot, "crashloop")
    host = world.slot.default_host_name
    trigger = AppServiceContainerReadyTrigger(
        azure_app_service_conn_id="azure_app_service_default",
        resource_group="rg-shop",
        app_name="shop",
        slot="staging",
        poll_interval=0.02,
        image="myacr.azurecr.io/shop:3",
        path="/",
        scope=None,
        hosts=[host],
        base_url=f"https://{host}",
        required_consecutive=1,
        deadline=time.time() - 1,
        timeout=1,
    )

    async def first_event():
        async for event in trigger.run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["status"] == "timeout" and payload["probes"] == 1
    assert "did not serve within 1s" in payload["message"]
