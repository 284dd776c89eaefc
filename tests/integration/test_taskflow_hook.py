"""The hook's operation methods from TaskFlow code: the same calls, checks and audit lines as the operators."""

from __future__ import annotations

from ..support import REPO, load_dag, migrate_db, task_states, xcom_value


def test_taskflow_code_restarts_stops_and_starts_through_the_hook(world, contributor, capfd):
    migrate_db()
    dag = load_dag(REPO / "tests" / "dags" / "taskflow_hook.py", "taskflow_hook")
    run = dag.test()
    assert task_states(run) == {"cycle": "success", "bad_name": "failed"}
    result = xcom_value(run, "cycle")
    assert result["stopped"] == {"app_name": "shop", "slot": "staging", "state": "Stopped"}
    assert result["seen"] == "Stopped"
    assert result["started"]["state"] == "Running" and result["restarted"]["state"] == "Running"
    posts = [
        r.path.rsplit("/", 1)[-1] for r in world.emu.requests if r.method == "POST" and "/slots/staging/" in r.path
    ]
    assert posts == ["stop", "start", "restart"]
    output = capfd.readouterr().out
    for action in ("stop", "start", "restart"):
        assert f"AUDIT action={action} resource=/subscriptions/{world.subscription_id}" in output
    assert "Argument 'app_name'" in output and "Fix:" in output
    assert not [r for r in world.emu.requests if "/sites/../" in r.path or r.path.endswith("/sites/..")]
