"""Deferred tasks under a real scheduler and triggerer, including a triggerer restart mid-wait."""

from __future__ import annotations

import pytest

from .conftest import leaked_secrets, task_log, trigger_log_files

pytestmark = pytest.mark.slow


def test_deferred_wait_runs_in_the_triggerer_and_survives_its_restart(cluster, cluster_world):
    emu, site = cluster_world["emu"], cluster_world["site"]
    emu.set_site_state(site, "Running")
    run_id = cluster.trigger("deferred_state_wait", {"app_name": site.name})

    def ti_state() -> str:
        return str(cluster.task_instances("deferred_state_wait", run_id)["wait_until_stopped"]["state"])

    cluster.wait_for(lambda: ti_state() == "deferred", 120, "the sensor to defer")
    # The triggerer polls the app through the emulator while the task is deferred.
    polls = lambda: [r for r in emu.requests if r.method == "GET" and r.path.endswith(f"/sites/{site.name}")]  # noqa: E731
    seen = len(polls())
    cluster.wait_for(lambda: len(polls()) >= seen + 2, 60, "the trigger to poll")

    cluster.stop_component("triggerer")
    cluster.start_component("triggerer")
    seen = len(polls())
    cluster.wait_for(lambda: len(polls()) >= seen + 2, 120, "the restarted triggerer to resume polling")
    assert ti_state() == "deferred"

    emu.set_site_state(site, "Stopped")
    cluster.wait_for(
        lambda: cluster.run_state("deferred_state_wait", run_id) in ("success", "failed"), 120, "the run to end"
    )
    assert cluster.run_state("deferred_state_wait", run_id) == "success"
    log = task_log(cluster, "deferred_state_wait", run_id, "wait_until_stopped")
    assert "reached Stopped" in log
    assert emu.issued_tokens(), "the scan below needs tokens to look for"
    assert not leaked_secrets(cluster, cluster_world), "a secret reached the scheduler, triggerer or API-server logs"
    planted = cluster.home / "logs" / "planted.log"  # the scan itself must be able to fail
    planted.write_text(f"oops {emu.issued_tokens()[-1]}\n")
    try:
        assert leaked_secrets(cluster, cluster_world)
    finally:
        planted.unlink()


def test_blue_green_runs_its_waits_in_the_triggerer_and_survives_a_restart(cluster, cluster_world, tmp_path):
    import zipfile

    from airflow_provider_appservice.testing import Health

    emu, site, slot = cluster_world["emu"], cluster_world["site"], cluster_world["slot"]
    emu.set_site_state(site, "Running")
    emu.set_build(site, "v1")
    emu.set_build(slot, "v1")
    emu.deployment_behaviour(slot, polls=2)
    # Staging answers unhealthy for a while: long enough to restart the triggerer mid-gate.
    emu.set_health(slot, "/healthz", Health.unhealthy(probes=12))
    package = tmp_path / "release.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("BUILD", "v2")
    conf = {"app_name": site.name, "package": str(package), "probe_interval": 0.5, "gate_timeout": 120}
    run_id = cluster.trigger("blue_green_deploy", conf)

    def states() -> dict[str, str]:
        return {t: str(ti["state"]) for t, ti in cluster.task_instances("blue_green_deploy", run_id).items()}

    cluster.wait_for(
        lambda: states().get("blue_green.staging_health_gate") == "deferred", 180, "the staging gate to defer"
    )
    probes = lambda: emu.health_probes(slot, "/healthz")  # noqa: E731
    seen = probes()
    cluster.wait_for(lambda: probes() >= seen + 2, 60, "the gate to probe from the triggerer")
    cluster.stop_component("triggerer")
    cluster.start_component("triggerer")
    seen = probes()
    cluster.wait_for(lambda: probes() >= seen + 2, 120, "the restarted triggerer to resume the gate")

    cluster.wait_for(
        lambda: cluster.run_state("blue_green_deploy", run_id) in ("success", "failed"), 300, "the run to end"
    )
    final = states()
    assert cluster.run_state("blue_green_deploy", run_id) == "success", final
    assert final["blue_green.release_done"] == "success" and final["blue_green.swap_back"] == "skipped"
    assert emu.build_of(site) == "v2" and emu.build_of(slot) == "v1"
    # The triggerer writes a trigger's log beside the task's, one file per triggerer job.
    for task_id in (
        "blue_green.deploy",
        "blue_green.staging_health_gate",
        "blue_green.complete_swap",
        "blue_green.production_health_gate",
    ):
        worker_log = task_log(cluster, "blue_green_deploy", run_id, task_id, trigger=False)
        assert "Pausing task as DEFERRED" in worker_log, f"{task_id} did not defer"
        trigger_logs = trigger_log_files(cluster, "blue_green_deploy", run_id, task_id)
        assert trigger_logs and all("starting" in text for text in trigger_logs.values()), task_id
    gate_jobs = trigger_log_files(cluster, "blue_green_deploy", run_id, "blue_green.staging_health_gate")
    assert len(gate_jobs) == 2, "the staging gate ran in the first triggerer, then in the restarted one"
    assert all("AppServiceHealthTrigger" in text for text in gate_jobs.values())
