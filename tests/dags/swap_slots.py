"""Slot swaps for the integration tests: a plain swap (sync and deferred), swap with preview then
complete or cancel, and a DAG scheduled on the swapped production slot's asset."""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import dag

from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator, app_slot_asset

PARAMS = {"app_name": "shop", "source_slot": "staging", "target_slot": "production"}
FAST = {"poll_interval": 0.05, "timeout": 30, "retries": 0}


def _slots() -> dict[str, str]:
    return {
        "app_name": "{{ params.app_name }}",
        "source_slot": "{{ params.source_slot }}",
        "target_slot": "{{ params.target_slot }}",
    }


@dag(schedule=None, params=PARAMS)
def swap_slots() -> None:
    AppServiceSwapSlotsOperator(task_id="swap", deferrable=False, **_slots(), **FAST)


@dag(schedule=None, params=PARAMS)
def swap_slots_deferred() -> None:
    AppServiceSwapSlotsOperator(task_id="swap", deferrable=True, **_slots(), **FAST)


@dag(schedule=None, params=PARAMS)
def swap_preview_complete() -> None:
    preview = AppServiceSwapSlotsOperator(task_id="preview", action="preview", **_slots(), **FAST)
    complete = AppServiceSwapSlotsOperator(task_id="complete", action="complete", **_slots(), **FAST)
    preview >> complete


@dag(schedule=None, params=PARAMS)
def swap_preview_cancel() -> None:
    preview = AppServiceSwapSlotsOperator(task_id="preview", action="preview", **_slots(), **FAST)
    cancel = AppServiceSwapSlotsOperator(task_id="cancel", action="cancel", **_slots(), **FAST)
    preview >> cancel


@dag(schedule=None)
def swap_preview_deferred() -> None:
    """Two deferred previews in one run: one shows on its source, one never does (its own deadline ends it)."""
    deferred = {"action": "preview", "deferrable": True, "source_slot": "staging", "poll_interval": 0.05, "retries": 0}
    AppServiceSwapSlotsOperator(task_id="previews", app_name="shop", timeout=30, **deferred)
    AppServiceSwapSlotsOperator(task_id="never_shows", app_name="shop2", timeout=0.5, **deferred)


@dag(schedule=[app_slot_asset("rg-shop", "shop", "production")])
def after_shop_production_swap() -> None:
    """Runs whenever shop's production slot was swapped (or deployed)."""
    EmptyOperator(task_id="smoke_test_production")


swap_slots()
swap_slots_deferred()
swap_preview_complete()
swap_preview_cancel()
swap_preview_deferred()
after_shop_production_swap()
