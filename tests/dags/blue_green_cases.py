"""Blue/green endings in one run, one app each (the test scripts each app's behaviour):

- ``rollback`` (app shop-b): production fails its gate after the swap: swapped back, the run
  fails naming the Kudu deployment production serves again (seeded first, to production).
- ``image_rollback`` (shop-e): the same with container images: the message names the image.
- ``staging_fails`` (shop-c): staging never gets healthy: no swap, the preview is cancelled.
- ``keep_preview`` (shop-f): the same with cancel_preview_on_failure=False: the preview stays.
- ``check_fails`` (shop-d): the user's pre-promotion check fails: no swap.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator
from airflow_provider_appservice.task_groups import BlueGreenContext, app_service_blue_green

# A gate that should pass gets time to spare on a loaded machine; one that must fail ends in 1 s.
PASSES = {"probe_interval": 0.02, "gate_timeout": 20}
FAILS = {"probe_interval": 0.02, "gate_timeout": 1}


def _release(group_id: str, app_name: str, staging: dict[str, float] = PASSES, **kwargs: Any) -> Any:
    return app_service_blue_green(
        group_id=group_id,
        app_name=app_name,
        health_path="/healthz",
        staging_gate={"required_consecutive": 2, **staging},
        production_gate={"required_consecutive": 3, **FAILS},  # only the rollback cases get there
        deferrable=False,
        **kwargs,
    )


def _smoke_test(ctx: BlueGreenContext) -> Any:
    @task(task_id="smoke_test")
    def smoke_test(app_name: str, slot: str) -> None:
        raise RuntimeError(f"smoke test of {app_name}/{slot}: checkout returned 500")

    return smoke_test(ctx.app_name, ctx.source_slot)


@dag(schedule=None, default_args={"retries": 0}, params={"v1": "", "v2": ""})
def blue_green_cases() -> None:
    seed = AppServiceDeployOperator(task_id="seed_production", app_name="shop-b", package="{{ params.v1 }}")
    rollback = _release("rollback", "shop-b", package="{{ params.v2 }}")
    seed >> rollback
    _release("image_rollback", "shop-e", image="myacr.azurecr.io/shop:v2")
    _release("staging_fails", "shop-c", FAILS, package="{{ params.v2 }}")
    _release("keep_preview", "shop-f", FAILS, package="{{ params.v2 }}", cancel_preview_on_failure=False)
    _release("check_fails", "shop-d", package="{{ params.v2 }}", pre_promotion_check=_smoke_test)


blue_green_cases()
