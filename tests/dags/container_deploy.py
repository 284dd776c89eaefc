"""Deploy a container image to a slot and gate on the new container serving (in the worker, and
deferred to the triggerer: one image that serves, one that crash-loops until the gate's own deadline)."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.container import AppServiceDeployContainerOperator


@dag(schedule=None, params={"app_name": "shop", "slot": "staging", "image": "myacr.azurecr.io/shop:2.0"})
def container_deploy() -> None:
    AppServiceDeployContainerOperator(
        task_id="deploy_image",
        app_name="{{ params.app_name }}",
        slot="{{ params.slot }}",
        image="{{ params.image }}",
        required_consecutive=2,
        poll_interval=0.02,
        timeout=1,
    )


@dag(schedule=None)
def container_deploy_deferred() -> None:
    fast = {"app_name": "shop", "required_consecutive": 2, "poll_interval": 0.02, "deferrable": True, "retries": 0}
    AppServiceDeployContainerOperator(
        task_id="serves", slot="staging", image="myacr.azurecr.io/shop:2.0", timeout=5, **fast
    )
    AppServiceDeployContainerOperator(
        task_id="crashloops", slot="canary", image="myacr.azurecr.io/shop:broken", timeout=0.6, **fast
    )


container_deploy()
container_deploy_deferred()
