"""DAGs for ``request_economy.py``: a deployment and a swap with the operators' defaults."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator
from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator

PARAMS = {"app_name": "contoso-shop", "package": "/dev/null"}


@dag(schedule=None, params=PARAMS)
def bench_deploy() -> None:
    AppServiceDeployOperator(
        task_id="deploy", app_name="{{ params.app_name }}", slot="staging", package="{{ params.package }}"
    )


@dag(schedule=None, params=PARAMS)
def bench_swap() -> None:
    AppServiceSwapSlotsOperator(
        task_id="swap", app_name="{{ params.app_name }}", source_slot="staging", target_slot="production"
    )


bench_deploy()
bench_swap()
