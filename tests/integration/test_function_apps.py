"""Function apps (``kind`` contains ``functionapp``) on Elastic Premium: the same operators work.

Settings and deployments have their own function-app tests; this covers restart, stop/start,
slot swap and container images on an EP1 Linux function app, and the clear refusal of a
Consumption (Y1) plan, which has no slots.
"""

from __future__ import annotations

import pytest

from ..support import EXAMPLE_DAGS, REPO, load_dag, migrate_db, task_states

pytestmark = pytest.mark.usefixtures("emulator_clock")  # swaps poll with Retry-After: 15


@pytest.fixture(scope="module")
def dags():
    migrate_db()
    return {
        "restart": load_dag(EXAMPLE_DAGS / "scheduled_restart.py", "scheduled_restart"),
        "cycle": load_dag(REPO / "tests" / "dags" / "lifecycle_cycle.py", "lifecycle_cycle"),
        "swap": load_dag(REPO / "tests" / "dags" / "swap_slots.py", "swap_slots"),
        "container": load_dag(REPO / "tests" / "dags" / "container_deploy.py", "container_deploy"),
    }


@pytest.fixture
def func(world, use_conn):
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Website Contributor", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    app = world.emu.add_site(
        world.subscription_id, world.resource_group, "orders-fn", kind="functionapp,linux", plan_sku="EP1"
    )
    world.emu.add_slot(app, "staging")
    return app


def test_restart_stop_and_start_a_function_app(world, func, dags):
    assert (
        task_states(dags["restart"].test(run_conf={"app_name": "orders-fn", "slot": "staging"}))["soft_restart"]
        == "success"
    )
    run = dags["cycle"].test(run_conf={"app_name": "orders-fn", "slot": "production"})
    assert set(task_states(run).values()) == {"success"}
    assert world.emu.restarts(func.slots["staging"]) == 1


def test_swap_a_function_app_slot(world, func, dags):
    world.emu.set_build(func, "fn-v1")
    world.emu.set_build(func.slots["staging"], "fn-v2")
    run = dags["swap"].test(run_conf={"app_name": "orders-fn", "source_slot": "staging", "target_slot": "production"})
    assert task_states(run) == {"swap": "success"}
    assert world.emu.build_of(func) == "fn-v2"


def test_container_image_on_a_function_app(world, func, dags):
    run = dags["container"].test(
        run_conf={"app_name": "orders-fn", "slot": "staging", "image": "myacr.azurecr.io/fn:3"}
    )
    assert task_states(run) == {"deploy_image": "success"}
    assert func.slots["staging"].site_config["linuxFxVersion"] == "DOCKER|myacr.azurecr.io/fn:3"


def test_a_consumption_plan_has_no_slots_and_says_so(world, use_conn, dags, func):
    y1 = world.emu.add_site(
        world.subscription_id, world.resource_group, "cheap-fn", kind="functionapp,linux", plan_sku="Y1"
    )
    run = dags["swap"].test(run_conf={"app_name": "cheap-fn", "source_slot": "staging", "target_slot": "production"})
    assert task_states(run) == {"swap": "failed"}
    assert not [r for r in world.emu.requests if r.path.endswith("/slotsswap") and "cheap-fn" in r.path]
    assert y1.state == "Running"
