"""Deploy a package (file, folder or https URL) to an app or slot and wait for it, in the worker
or in the triggerer; deploy without waiting and track it with the deployment sensor; deploy with
one Airflow retry (for the crash test)."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator
from airflow_provider_appservice.sensors.deployment import AppServiceDeploymentSensor

PARAMS = {
    "app_name": "shop",
    "slot": "production",
    "package": "",
    "type": None,
    "timeout": 600,
    "poll_interval": None,
}
COMMON = {
    "app_name": "{{ params.app_name }}",
    "slot": "{{ params.slot }}",
    "package": "{{ params.package }}",
    "type": "{{ params.type or '' }}",
    "timeout": "{{ params.timeout }}",
    "poll_interval": "{{ params.poll_interval or '' }}",
}


@dag(schedule=None, params=PARAMS, render_template_as_native_obj=False)
def deploy_package() -> None:
    AppServiceDeployOperator(task_id="deploy", **COMMON)


@dag(schedule=None, params=PARAMS)
def deploy_deferred() -> None:
    AppServiceDeployOperator(task_id="deploy", deferrable=True, **COMMON)


@dag(schedule=None, params=PARAMS)
def deploy_then_sense() -> None:
    deploy = AppServiceDeployOperator(task_id="deploy", wait_for_completion=False, **COMMON)
    sense = AppServiceDeploymentSensor(
        task_id="sense",
        app_name="{{ params.app_name }}",
        slot="{{ params.slot }}",
        deployment_id="{{ ti.xcom_pull(task_ids='deploy')['deployment_id'] }}",
        deferrable=True,
        poke_interval=0.05,
        timeout=60,
    )
    latest = AppServiceDeploymentSensor(
        task_id="latest", app_name="{{ params.app_name }}", slot="{{ params.slot }}", poke_interval=0.05, timeout=60
    )
    deploy >> sense >> latest


@dag(schedule=None, params=PARAMS, default_args={"retries": 1, "retry_delay": 0})
def deploy_with_retry() -> None:
    AppServiceDeployOperator(task_id="deploy", **COMMON)


deploy_package()
deploy_deferred()
deploy_then_sense()
deploy_with_retry()
