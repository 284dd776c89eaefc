"""Waiting for a swap Azure accepted to end: by its continuation token, or by slot state.

With a token the ARM poller resumes from it (sync in the worker, async in the trigger); without
one (the answer was lost but ``slotSwapStatus`` showed the swap) the source slot is read until
:func:`~.swap_state.swap_progress` says ``applied``. Nothing here knows Airflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_appservice.boundary import classify
from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import AppServiceError, WaitTimeout
from airflow_provider_appservice.operations.swap import begin_swap
from airflow_provider_appservice.operations.swap_state import (
    APPLIED,
    SlotView,
    SwapPair,
    aread_slot,
    parse_time,
    read_action,
    read_slot,
    swap_progress,
)

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient


def wait_for_swap(
    client: WebSiteManagementClient, pair: SwapPair, token: str, *, timeout: float, poll_interval: float
) -> None:
    """Resume the ARM poller from ``token`` and wait at most ``timeout`` seconds."""
    from azure.core.exceptions import AzureError
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    poller = begin_swap(client, pair, cast(Any, None), continuation_token=token, polling=ARMPolling(poll_interval))
    try:
        poller.wait(timeout)
        if not poller.done():
            raise WaitTimeout(swap_timeout_message(pair, timeout))
        poller.result()
    except AzureError as exc:
        raise classify(f"Swap of {pair.label}", exc, required_action=read_action(pair.source_slot)) from None


def swap_timeout_message(pair: SwapPair, timeout: float) -> str:
    return (
        f"Swap of {pair.label} did not finish within {timeout:.0f}s. Azure may still complete it "
        "server-side: check the slots (slotSwapStatus) before swapping again."
    )


def wait_by_state(
    client: WebSiteManagementClient,
    pair: SwapPair,
    before: datetime | None,
    pending_before: bool,
    *,
    timeout: float,
    poll_interval: float,
    clock: Clock | None = None,
) -> SlotView:
    """Wait until the source slot shows this swap finished (when no continuation token exists)."""
    clock = clock or default_clock()
    started = clock.now()
    while True:
        view = read_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
        if swap_progress(view, pair, before, pending_before) == APPLIED:
            return view
        if clock.now() - started + poll_interval > timeout:
            raise WaitTimeout(swap_timeout_message(pair, timeout))
        clock.sleep(poll_interval)


async def await_by_state(
    client: Any,
    pair: SwapPair,
    before: datetime | None,
    pending_before: bool,
    *,
    poll_interval: float,
    sleep: Any,
) -> SlotView:
    """Async twin of :func:`wait_by_state` without its own bound (the caller bounds it)."""
    while True:
        view = await aread_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
        if swap_progress(view, pair, before, pending_before) == APPLIED:
            return view
        await sleep(poll_interval)


async def await_swap(client: Any, pair: SwapPair, token: str, *, poll_interval: float) -> None:
    """Resume the poller from ``token`` on an aio client and wait until it ends (no bound here)."""
    from azure.core.exceptions import AzureError
    from azure.mgmt.core.polling.async_arm_polling import AsyncARMPolling

    ops = client.web_apps
    polling = AsyncARMPolling(poll_interval)
    try:
        if pair.source_slot:
            poller = await ops.begin_swap_slot(
                pair.resource_group,
                pair.app_name,
                pair.source_slot,
                cast(Any, None),
                continuation_token=token,
                polling=polling,
            )
        else:
            poller = await ops.begin_swap_slot_with_production(
                pair.resource_group, pair.app_name, cast(Any, None), continuation_token=token, polling=polling
            )
        await poller.result()
    except AzureError as exc:
        raise classify(f"Swap of {pair.label}", exc, required_action=read_action(pair.source_slot)) from None


def wait_for_swap_end(
    client: WebSiteManagementClient,
    pair: SwapPair,
    record: dict[str, Any],
    *,
    timeout: float,
    poll_interval: float,
    clock: Clock | None = None,
) -> None:
    """The worker's wait for a stored swap: by its token when Azure gave one, else by slot state."""
    token = record.get("token")
    if token:
        wait_for_swap(client, pair, token, timeout=timeout, poll_interval=poll_interval)
        return
    wait_by_state(
        client,
        pair,
        parse_time(record.get("before")),
        bool(record.get("pending_before")),
        timeout=timeout,
        poll_interval=poll_interval,
        clock=clock,
    )


def checked_swap_event(event: Any, what: str, late: str, **fields: Any) -> dict[str, Any]:
    """A swap trigger's event, checked; a timeout or failure raises what the worker path raises."""
    from airflow_provider_appservice.operations.waits import SUCCESS, TIMEOUT, check_event

    checked = check_event(event, what, {"started": (int, float), **fields})
    if checked["status"] == TIMEOUT:
        raise WaitTimeout(checked["message"] or late)
    if checked["status"] != SUCCESS:
        raise AppServiceError(checked["message"] or f"the {what} trigger failed")
    return checked
