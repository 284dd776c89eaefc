"""The blue/green example DAG, both paths, through dag.test() against the emulator.

Healthy: production serves the new build. Unhealthy production after the swap: the DAG
swaps back by itself and the run fails saying so; production serves the old build again.
"""

from __future__ import annotations

import zipfile

import pytest

from airflow_provider_appservice.testing import Health

from ..support import EXAMPLE_DAGS, load_dag, migrate_db, task_states


@pytest.fixture(scope="module")
def blue_green():
    migrate_db()
    return load_dag(EXAMPLE_DAGS / "blue_green_deploy.py", "blue_green_deploy")


@pytest.fixture
def release(world, use_conn, tmp_path):
    """A contributor connection, production on v1, and a v2 package to ship."""
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Website Contributor", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    world.emu.set_build(world.site, "v1")
    world.emu.set_build(world.slot, "v1")
    world.emu.deployment_behaviour(world.slot, polls=1)  # done at the first status poll: no waiting
    package = tmp_path / "shop-v2.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("BUILD", "v2")
        archive.writestr("app.py", "print('hello from v2')\n")
    return {
        "app_name": "shop",
        "package": str(package),
        "health_path": "/healthz",
        "probe_interval": 0.02,
        "gate_timeout": 1,
    }


def test_healthy_release_ends_with_production_on_the_new_build(world, release, blue_green):
    run = blue_green.test(run_conf=release)
    states = task_states(run)
    assert states == {
        "deploy_to_staging": "success",
        "staging_health_gate": "success",
        "swap_with_preview": "success",
        "complete_swap": "success",
        "production_health_gate": "success",
        "production_verdict": "success",
        "release_done": "success",
        "rollback_swap": "skipped",
        "fail_after_rollback": "skipped",
        "release_aborted": "skipped",
    }
    assert str(run.state) == "success"
    assert world.emu.build_of(world.site) == "v2", "production serves the new build"
    assert world.emu.build_of(world.slot) == "v1", "the old build waits in staging"


def test_unhealthy_production_is_swapped_back_and_the_run_fails(world, release, blue_green):
    world.emu.set_health(world.site, "/healthz", Health.unhealthy())  # production answers 503 after the swap
    run = blue_green.test(run_conf=release)
    states = task_states(run)
    assert states["production_health_gate"] == "failed"
    assert states["rollback_swap"] == "success"
    assert states["fail_after_rollback"] == "failed"
    assert str(run.state) == "failed"
    assert world.emu.build_of(world.site) == "v1", "production is back on the old build"
    assert world.emu.build_of(world.slot) == "v2", "the new build is kept in staging for inspection"
    swaps = [r for r in world.emu.requests if r.method == "POST" and r.path.endswith("/slotsswap")]
    assert len(swaps) == 2, "one swap forward (complete), one back (rollback)"


def test_a_failed_deployment_aborts_without_any_swap(world, release, blue_green):
    world.emu.deployment_behaviour(world.slot, polls=1, outcome="failed", log_lines=["npm ERR! missing script: build"])
    run = blue_green.test(run_conf=release)
    states = task_states(run)
    assert states["deploy_to_staging"] == "failed"
    assert states["rollback_swap"] == "skipped" and states["release_aborted"] == "failed"
    assert str(run.state) == "failed"
    assert not [r for r in world.emu.requests if r.path.endswith(("/slotsswap", "/applySlotConfig"))]
    assert world.emu.build_of(world.site) == "v1"
