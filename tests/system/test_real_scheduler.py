"""Deferred tasks under a real scheduler and triggerer, including a triggerer restart mid-wait."""

from __future__ import annotations

import pytest

from .conftest import task_log

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
