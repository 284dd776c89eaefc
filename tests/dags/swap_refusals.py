"""Swap timings that are not positive numbers, literal or templated, on every action and in both
modes: each refused before any call (tests/integration/test_swap_arguments.py). Task ids name the cases."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator

CASES = {
    "zero_timeout": ({"timeout": 0}, "timeout"),
    "negative_timeout_deferred": ({"timeout": -5, "deferrable": True}, "timeout"),
    "templated_zero_timeout": ({"timeout": "{{ params.zero }}"}, "timeout"),
    "zero_poll_interval": ({"poll_interval": 0}, "poll_interval"),
    "templated_text_poll_interval": ({"poll_interval": "{{ params.text }}"}, "poll_interval"),
    "preview_zero_timeout": ({"action": "preview", "timeout": 0}, "timeout"),
    "complete_negative_poll": ({"action": "complete", "poll_interval": -1}, "poll_interval"),
    "cancel_zero_timeout": ({"action": "cancel", "timeout": "0.0"}, "timeout"),
}


@dag(schedule=None, params={"app_name": "shop", "zero": "0", "text": "soon"})
def swap_refusals() -> None:
    for task_id, (kwargs, _argument) in CASES.items():
        AppServiceSwapSlotsOperator(
            task_id=task_id, app_name="{{ params.app_name }}", source_slot="staging", retries=0, **kwargs
        )


swap_refusals()
