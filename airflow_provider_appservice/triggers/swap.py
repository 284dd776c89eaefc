"""Wait in the triggerer for a slot swap the worker started, resuming the ARM poller.

The worker POSTs the swap once and hands over the poller's continuation token (checked to hold
no Authorization, no token, nothing but the POST's URL, ``x-ms-client-request-id`` and the
``Location``/``Retry-After`` headers). The trigger resumes the poller from it on the loop's
shared async ARM client, so a triggerer restart resumes the wait instead of re-POSTing. Without a
token (the POST's answer was lost but ``slotSwapStatus`` showed the swap) it waits by state.

``cleanup()`` never cancels anything: it also runs when a triggerer restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.operations.targets import check_names
from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger, error_event, read_deadline


class AppServiceSwapTrigger(AppServiceBaseTrigger):
    """Wait for a swap of ``slot`` (the source; ``None`` = production) with ``target_slot``.

    :param continuation_token: the swap poller's checked continuation token, or None to wait by state.
    :param before: the source's ``slotSwapStatus.timestampUtc`` before the POST (ISO 8601), if any.
    :param pending_before: whether a preview was pending on the source before the POST.
    :param deadline: epoch seconds after which the wait gives up (the swap may still finish).
    :param started: epoch seconds when the task started the swap (for the duration it reports).
    """

    def __init__(
        self,
        *,
        target_slot: str | None,
        deadline: float,
        continuation_token: str | None = None,
        before: str | None = None,
        pending_before: bool = False,
        started: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_names(target_slot=target_slot)
        self.target_slot = target_slot
        self.deadline = read_deadline(deadline)  # kwargs come back from the database
        self.continuation_token = continuation_token
        self.before = before
        self.pending_before = pending_before
        self.started = started

    def extra_kwargs(self) -> dict[str, Any]:
        return {
            "target_slot": self.target_slot,
            "deadline": self.deadline,
            "continuation_token": self.continuation_token,
            "before": self.before,
            "pending_before": self.pending_before,
            "started": self.started,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.swap_state import SwapPair, aread_slot, parse_time
        from airflow_provider_appservice.operations.swap_waits import await_by_state, await_swap, swap_timeout_message

        pair = SwapPair(self.resource_group, self.app_name, self.slot, self.target_slot)
        base = {"started": self.started, "source_slot": pair.source_label, "target_slot": pair.target_label}
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        remaining = self.deadline - hook.clock.wall()
        try:
            async with hook.shared_arm_client() as client:
                if remaining <= 0:
                    raise TimeoutError
                wait: Coroutine[Any, Any, Any]
                if self.continuation_token:
                    wait = await_swap(client, pair, self.continuation_token, poll_interval=self.poll_interval)
                else:
                    wait = await_by_state(
                        client,
                        pair,
                        parse_time(self.before),
                        self.pending_before,
                        poll_interval=self.poll_interval,
                        sleep=hook.clock.asleep,
                    )
                await asyncio.wait_for(wait, timeout=remaining)
                view = await aread_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
            self.log.info("Swap of %s finished (last swap %s)", pair.label, view.last_swap_iso)
            yield TriggerEvent({"status": "success", "last_swap": view.last_swap_iso, **base})
        except TimeoutError:
            yield TriggerEvent(
                {
                    "status": "timeout",
                    "message": swap_timeout_message(pair, self.deadline - (self.started or 0)),
                    **base,
                }
            )
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Waiting for the swap of {pair.label}", exc, **base)


class AppServiceSwapPreviewTrigger(AppServiceBaseTrigger):
    """Wait until a swap with preview (applySlotConfig, sent by the worker) shows on the source
    ``slot`` (``targetSwapSlot`` names ``target_slot``), or until ``deadline``.

    The decisions are the worker's (``operations.swap_preview.PreviewWait``). When the task is killed
    while deferred (mark failed, clear, mark success), :meth:`on_kill` cancels the preview with
    resetSlotConfig, like the operator's own ``on_kill`` in a worker; ``cleanup()`` cancels
    nothing (it also runs when a triggerer restarts).

    :param target_slot: the preview's target (None = production).
    :param deadline: epoch seconds; the wait ends there with a timeout event.
    :param timeout: the operator's timeout in seconds (for the messages).
    :param started: epoch seconds when the task applied the preview (echoed in the event).
    """

    def __init__(
        self, *, target_slot: str | None, deadline: float, timeout: float, started: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        check_names(target_slot=target_slot)
        self.target_slot = target_slot
        self.deadline = read_deadline(deadline)  # kwargs come back from the database
        self.timeout = float(timeout)
        self.started = started

    def extra_kwargs(self) -> dict[str, Any]:
        return {
            "target_slot": self.target_slot,
            "deadline": self.deadline,
            "timeout": self.timeout,
            "started": self.started,
        }

    def _pair(self) -> Any:
        from airflow_provider_appservice.operations.swap_state import SwapPair

        return SwapPair(self.resource_group, self.app_name, self.slot, self.target_slot)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.swap_preview import PreviewWait, await_preview
        from airflow_provider_appservice.operations.waits import outcome_event

        pair = self._pair()
        wait = PreviewWait(pair, deadline=self.deadline, timeout=self.timeout, interval=self.poll_interval)
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        try:
            async with hook.shared_arm_client() as client:
                outcome = await await_preview(client, wait, clock=hook.clock, logger=self.log)
            yield TriggerEvent(outcome_event(outcome, reads=wait.polls, started=self.started))
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Waiting for the preview of {pair.label}", exc, reads=wait.polls)

    async def on_kill(self) -> None:
        """The task was killed while deferred: cancel the preview it applied (resetSlotConfig).

        Bounded by its own timeout (the triggerer's bound is only a backstop); failures are logged.
        """
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.swap_preview import acancel_preview

        pair = self._pair()
        self.log.warning("Task killed during the preview of %s: cancelling the preview", pair.label)
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        try:
            async with hook.shared_arm_client() as client:
                await asyncio.wait_for(acancel_preview(client, pair, logger=self.log), timeout=ON_KILL_TIMEOUT)
        except Exception as exc:
            self.log.error("Cancelling the preview of %s failed: %s", pair.label, exc)


ON_KILL_TIMEOUT = 20.0  # seconds; Airflow's [triggerer] on_kill_timeout (30 s by default) is the backstop
