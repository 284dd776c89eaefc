"""Deploy a container image to a slot and gate on the new container serving."""

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


container_deploy()
