"""TaskFlow code that restarts, stops and starts an app through the hook's methods, no operators."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task


@dag(schedule=None, params={"app_name": "shop", "slot": "staging"})
def taskflow_hook() -> None:
    @task
    def cycle(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_appservice.hooks.app_service import AppServiceHook

        assert params is not None
        app, slot = params["app_name"], params["slot"]
        with AppServiceHook() as hook:
            stopped = hook.stop(app, slot=slot)
            state_when_stopped = hook.get_state(app, slot=slot)
            started = hook.start(app, slot=slot)
            restarted = hook.restart(app, slot=slot, soft_restart=True)
        return {"stopped": stopped, "seen": state_when_stopped, "started": started, "restarted": restarted}

    @task
    def bad_name() -> None:
        from airflow_provider_appservice.hooks.app_service import AppServiceHook

        with AppServiceHook() as hook:
            hook.restart("..", slot="staging")

    cycle()
    bad_name()


taskflow_hook()
