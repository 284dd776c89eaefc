"""Nightly soft restart of a slot, then wait (in the triggerer) until it is Running again.

A soft restart recycles the app without moving it to another worker. The state check
uses App Service's admin state; gate on a health path when "serving" matters.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag

from airflow_provider_appservice.operators.lifecycle import AppServiceRestartOperator
from airflow_provider_appservice.sensors.state import AppServiceStateSensor


@dag(
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "app_name": Param("contoso-shop", type="string"),
        "slot": Param("staging", type="string", description="'production' for the production site"),
    },
    tags=["azure-app-service", "example"],
)
def scheduled_restart() -> None:
    restart = AppServiceRestartOperator(
        task_id="soft_restart",
        app_name="{{ params.app_name }}",
        slot="{{ params.slot }}",
        soft_restart=True,
    )
    running = AppServiceStateSensor(
        task_id="wait_until_running",
        app_name="{{ params.app_name }}",
        slot="{{ params.slot }}",
        target_state="Running",
        poke_interval=10,
        timeout=600,
        deferrable=True,
    )
    restart >> running


scheduled_restart()
