"""``app_service_blue_green`` through dag.test() against the emulator: the example DAG's healthy
release, and every other ending in one batched run (one app per case, tests/dags/blue_green_cases.py).
"""

from __future__ import annotations

import re
import zipfile

import pytest

from airflow_provider_appservice.testing import Health

from ..support import EXAMPLE_DAGS, REPO, load_dag, migrate_db, task_states

pytestmark = pytest.mark.usefixtures("emulator_clock")  # swaps poll with Retry-After: 15
SWAPS = ("/slotsswap", "/applySlotConfig", "/resetSlotConfig")


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The example's package_root (SHOP_BUILDS_DIR): every package of these tests is built in it."""
    folder = tmp_path_factory.mktemp("builds")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOP_BUILDS_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def dags(builds):
    migrate_db()
    return {
        "example": load_dag(EXAMPLE_DAGS / "blue_green_deploy.py", "blue_green_deploy"),
        "cases": load_dag(REPO / "tests" / "dags" / "blue_green_cases.py", "blue_green_cases"),
    }


def _zip(folder, version: str) -> str:
    package = folder / f"shop-{version}.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("BUILD", version)
        archive.writestr("app.py", f"print('hello from {version}')\n")
    return str(package)


@pytest.fixture
def contributor_conn(world, use_conn):
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Website Contributor", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )


def _app(world, name: str):
    """An app with a staging slot, both on v1, deployments done at their first status poll."""
    site = world.site if name == "shop" else world.emu.add_site(world.subscription_id, world.resource_group, name)
    slot = site.slots["staging"] if "staging" in site.slots else world.emu.add_slot(site, "staging")
    for each in (site, slot):
        world.emu.set_build(each, "v1")
        world.emu.deployment_behaviour(each, polls=1)
    return site, slot


def _swap_calls(emu, name: str) -> list[str]:
    return [
        r.path.rsplit("/", 1)[-1]
        for r in emu.requests
        if r.method == "POST" and f"/sites/{name}/" in r.path and r.path.endswith(SWAPS)
    ]


def test_the_example_releases_through_the_group_and_production_serves_the_new_build(
    world, contributor_conn, dags, builds
):
    site, slot = _app(world, "shop")
    conf = {
        "app_name": "shop",
        "package": _zip(builds, "v2"),
        "health_path": "/healthz",
        "probe_interval": 0.02,
        "gate_timeout": 20,
    }
    run = dags["example"].test(run_conf=conf)
    assert task_states(run) == {
        "blue_green.deploy": "success",
        "blue_green.swap_with_preview": "success",
        "blue_green.staging_health_gate": "success",
        "blue_green.complete_swap": "success",
        "blue_green.production_health_gate": "success",
        "blue_green.verdict": "success",
        "blue_green.release_done": "success",
        "blue_green.cancel_preview": "skipped",
        "blue_green.release_aborted": "skipped",
        "blue_green.swap_back": "skipped",
        "blue_green.production_restored": "skipped",
    }
    assert str(run.state) == "success"
    assert dags["example"].get_task("blue_green.deploy").package_root == str(builds)
    assert world.emu.build_of(site) == "v2", "production serves the new build"
    assert world.emu.build_of(slot) == "v1", "the old build waits in staging"
    assert _swap_calls(world.emu, "shop") == ["applySlotConfig", "slotsswap"]


def test_every_other_ending_in_one_run(world, contributor_conn, dags, builds, capfd):
    emu = world.emu
    apps = {name: _app(world, name) for name in ("shop-b", "shop-c", "shop-d", "shop-e", "shop-f")}
    emu.set_health(apps["shop-b"][0], "/healthz", Health.unhealthy())  # production, after the swap
    emu.set_health(apps["shop-e"][0], "/healthz", Health.unhealthy())
    emu.set_health(apps["shop-c"][1], "/healthz", Health.unhealthy())  # staging never healthy
    emu.set_health(apps["shop-f"][1], "/healthz", Health.unhealthy())
    for site in apps["shop-e"]:
        site.site_config["linuxFxVersion"] = "DOCKER|myacr.azurecr.io/shop:v1"

    run = dags["cases"].test(run_conf={"v1": _zip(builds, "v1"), "v2": _zip(builds, "v2")})
    text = "".join(capfd.readouterr())
    states = task_states(run)
    assert str(run.state) == "failed"

    # (b) production's gate failed: swapped back to the deployment seeded into production.
    seeded = emu.deployments(apps["shop-b"][0])[-1].id
    new = emu.deployments(apps["shop-b"][1])[-1].id
    for group in ("rollback", "image_rollback"):
        assert states[f"{group}.production_health_gate"] == "failed"
        assert states[f"{group}.swap_back"] == "success"
        assert states[f"{group}.production_restored"] == "failed"
        assert states[f"{group}.release_done"] == "skipped" and states[f"{group}.cancel_preview"] == "skipped"
    for name in ("shop-b", "shop-e"):
        assert _swap_calls(emu, name) == ["applySlotConfig", "slotsswap", "slotsswap"]
    assert emu.build_of(apps["shop-b"][0]) == "v1" and emu.build_of(apps["shop-b"][1]) == "v2"
    assert re.search(
        rf"'shop-b' was swapped back: production is restored and serves deployment '{seeded}'\. "
        rf"The rejected build \(deployment '{new}'\) is in slot 'staging'",
        text,
    ), "the message names the deployment production serves again"
    assert emu.site_config(apps["shop-e"][0])["linuxFxVersion"] == "DOCKER|myacr.azurecr.io/shop:v1"
    assert "'shop-e' was swapped back: production is restored and serves image 'myacr.azurecr.io/shop:v1'" in text

    # (c) staging never healthy: no swap; the preview is cancelled only when asked.
    for group in ("staging_fails", "keep_preview"):
        assert states[f"{group}.staging_health_gate"] == "failed"
        assert states[f"{group}.complete_swap"] == "upstream_failed"
        assert states[f"{group}.release_aborted"] == "failed" and states[f"{group}.swap_back"] == "skipped"
    assert states["staging_fails.cancel_preview"] == "success"
    assert states["keep_preview.cancel_preview"] == "skipped"
    assert _swap_calls(emu, "shop-c") == ["applySlotConfig", "resetSlotConfig"]
    assert _swap_calls(emu, "shop-f") == ["applySlotConfig"]
    assert emu.preview_state(apps["shop-c"][1]) is None and emu.preview_state(apps["shop-f"][1]) is not None
    assert "Release of 'shop-c' stopped before the swap: staging_health_gate failed" in text
    assert "The preview on slot 'staging' was cancelled." in text
    assert "still applied (cancel_preview_on_failure=False)" in text

    # (d) the user's pre-promotion check failed: no swap, the check named.
    assert states["check_fails.staging_health_gate"] == "success"
    assert states["check_fails.smoke_test"] == "failed"
    assert states["check_fails.complete_swap"] == "upstream_failed"
    assert states["check_fails.cancel_preview"] == "success"
    assert "Release of 'shop-d' stopped before the swap: smoke_test failed" in text
    assert _swap_calls(emu, "shop-d") == ["applySlotConfig", "resetSlotConfig"]
    for name in ("shop-c", "shop-d", "shop-f"):
        assert emu.build_of(apps[name][0]) == "v1", f"{name}: production untouched"
