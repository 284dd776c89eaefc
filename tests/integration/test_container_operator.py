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
