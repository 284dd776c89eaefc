"""Swap deployment slots, with preview (``preview`` → ``complete`` or ``cancel``).

Crash safety: before the POST the task stores what it is about to do (source, target, the
source's ``slotSwapStatus`` timestamp) in ``task_state_store``, and once Azure accepted the swap
the checked continuation token too (``ResumableJobMixin``). A retried task asks Azure where that
swap stands and reconnects to it, or returns at once if it finished, instead of POSTing again
(which would swap back). On success the record is deleted, so clearing the task swaps again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias, ResumableJobMixin, conf

from airflow_provider_appservice.audit import audit
from airflow_provider_appservice.common.assets import APP_SERVICE_ASSET_ALIAS, app_slot_asset, emit_slot_events
from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.swap_state import SwapPair

ACTIONS = ("swap", "preview", "complete", "cancel")
STATE_KEY = "appservice_swap"
# app_slot_asset stays importable from here: DAG authors schedule on it (docs/swap.md).
__all__ = ["AppServiceSwapSlotsOperator", "app_slot_asset"]


class AppServiceSwapSlotsOperator(ResumableJobMixin, AppServiceBaseOperator):
    """Swap two slots of an app, or run a swap with preview step by step.

    :param app_name: the app (site) name.
    :param source_slot: the slot whose build moves to ``target_slot`` (e.g. ``staging``).
    :param target_slot: where it goes; ``production`` by default.
    :param action: ``swap`` (POST the swap and wait); ``preview`` (applySlotConfig: the source
        restarts with the target's slot-specific settings, phase 1 of a swap with preview);
        ``complete`` (finish a pending preview: the swap itself); ``cancel`` (resetSlotConfig:
        drop a pending preview).
    :param preserve_vnet: keep each slot's virtual network integration (``preserveVnet``).
    :param wait_for_completion: wait until the swap finished (``swap``/``complete``) or the
        preview shows on the source (``preview``).
    :param timeout: seconds to wait at most; a swap that times out may still complete in Azure.
    :param poll_interval: seconds between polls when Azure sends no ``Retry-After``.
    :param deferrable: wait in the triggerer (the POST, applySlotConfig or resetSlotConfig stays in
        the worker): for a swap until it finished, for a preview until it shows on the source (a
        task killed while its preview is deferred still cancels the preview, from the triggerer).
        Default ``[operators] default_deferrable``.
    :param resource_group: defaults to the connection's ``resource_group``.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection.

    Returns (XCom) ``{"action", "source_slot", "target_slot", "status", "duration_seconds"}``.
    On a finished swap it emits an asset event for both slots through the
    ``AssetAlias("azure_app_service")`` outlet (see :func:`app_slot_asset`).
    """

    external_id_key = STATE_KEY
    template_fields: Sequence[str] = (
        "azure_app_service_conn_id",
        "resource_group",
        "app_name",
        "source_slot",
        "target_slot",
        "timeout",
        "poll_interval",
    )

    def __init__(
        self,
        *,
        app_name: str,
        source_slot: str,
        target_slot: str = "production",
        action: str = "swap",
        preserve_vnet: bool = True,
        wait_for_completion: bool = True,
        timeout: float = 1800,
        poll_interval: float = 15,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        resource_group: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        if action not in ACTIONS:
            raise TaskArgumentError("action", f"is {action!r}", f"use one of {', '.join(ACTIONS)}")
        kwargs.setdefault("outlets", [AssetAlias(APP_SERVICE_ASSET_ALIAS)])
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=None,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.source_slot = source_slot
        self.target_slot = target_slot
        self.action = action
        self.preserve_vnet = preserve_vnet
        self.wait_for_completion = wait_for_completion
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self._pending_preview: SwapPair | None = None
        self._outcome = "succeeded"
        self._ids: dict[str, Any] = {}
        self._result: dict[str, Any] | None = None
        self._started = 0.0

    # -- shared ---------------------------------------------------------------------------------

    def _pair(self) -> SwapPair:
        from airflow_provider_appservice.operations.endpoint import check_positive
        from airflow_provider_appservice.operations.swap_state import SwapPair
        from airflow_provider_appservice.operations.targets import check_names, normalise_slot

        # Every path starts here, so a bad (templated) timing is refused before any call.
        self.timeout = check_positive(self.timeout, "timeout")
        self.poll_interval = check_positive(self.poll_interval, "poll_interval")
        target = self.target
        source, dest = normalise_slot(self.source_slot), normalise_slot(self.target_slot)
        check_names(source_slot=source, target_slot=dest)
        if (source or "").lower() == (dest or "").lower():
            raise TaskArgumentError(
                "target_slot", f"is '{self.source_slot}' like source_slot on task '{self.task_id}'", "swap two slots"
            )
        return SwapPair(target.resource_group, target.app_name, source, dest)

    def _retry_args(self) -> dict[str, Any]:
        return {
            "backoff": self.backoff(),
            "max_attempts": self.hook.identity.retry_max_attempts,
            "clock": self.hook.clock,
            "logger": self.log,
        }

    def execute(self, context: Context) -> Any:
        self._outcome = "succeeded"
        self._result = None
        if self.action in ("swap", "complete"):
            return self.execute_resumable(context)
        started = self._started = time.time()
        pair = self._pair()
        if self.action == "preview":
            self._preview(pair)
        else:
            self._cancel(pair)
        return self._finish(context, pair, started, swapped=False)

    # -- preview / cancel -------------------------------------------------------------------------

    def _preview(self, pair: SwapPair) -> None:
        from airflow_provider_appservice.operations.swap_preview import preview_already_pending, slot_config
        from airflow_provider_appservice.operations.swap_state import precheck_slots

        if preview_already_pending(pair, precheck_slots(self.hook.get_conn(), pair)):
            self.log.info("A preview of %s is already pending; nothing to apply", pair.label)
            self._outcome = "already-pending"
            return
        self._pending_preview = pair
        try:
            result = slot_config(
                self.hook.get_conn(), pair, "apply", preserve_vnet=self.preserve_vnet, **self._retry_args()
            )
            self._ids = {"request_id": result.request_id, "correlation_id": result.correlation_id}
            if result.verified_by_state:
                self._outcome = "verified-by-state"
            if self.wait_for_completion:
                self._wait_for_preview(pair)
        finally:
            self._pending_preview = None

    def _wait_for_preview(self, pair: SwapPair) -> None:
        from airflow_provider_appservice.operations.swap_preview import watch_preview

        if self.deferrable:
            from airflow_provider_appservice.triggers.swap import AppServiceSwapPreviewTrigger

            self.log.info("Deferring: the triggerer waits up to %gs for the preview of %s", self.timeout, pair.label)
            self.defer(
                trigger=AppServiceSwapPreviewTrigger(
                    azure_app_service_conn_id=self.azure_app_service_conn_id,
                    resource_group=pair.resource_group,
                    app_name=pair.app_name,
                    slot=pair.source_slot,
                    target_slot=pair.target_slot,
                    poll_interval=self.poll_interval,
                    deadline=self.hook.clock.wall() + self.timeout,
                    timeout=self.timeout,
                    started=self._started,
                ),
                method_name="execute_preview_complete",
                kwargs={"started": self._started, "ids": self._ids, "outcome": self._outcome},
                # The trigger ends itself at its deadline; Airflow's timeout is only the backstop.
                timeout=timedelta(seconds=self.timeout + 60),
            )
        watch_preview(
            self.hook.get_conn(),
            pair,
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            clock=self.hook.clock,
            logger=self.log,
        )

    def execute_preview_complete(
        self,
        context: Context,
        event: dict[str, Any],
        started: float | None = None,
        ids: dict[str, Any] | None = None,
        outcome: str | None = None,
    ) -> dict[str, Any]:
        """Resume after the preview trigger: check its event, then finish like a worker-side preview."""
        from airflow_provider_appservice.operations.swap_waits import checked_swap_event

        checked = checked_swap_event(event, "swap preview", "the preview did not show on the source in time", reads=int)
        started = started if started is not None else checked["started"]  # dag.test() drops defer kwargs
        self.log.info("%s", checked["message"])
        self._ids = {
            k: v for k, v in (ids or {}).items() if k in ("request_id", "correlation_id") and isinstance(v, str)
        }
        self._outcome = outcome if outcome in ("succeeded", "verified-by-state") else "succeeded"
        return self._finish(
            context, self._pair(), started if isinstance(started, (int, float)) else time.time(), swapped=False
        )

    def _cancel(self, pair: SwapPair) -> None:
        from airflow_provider_appservice.operations.swap_preview import cancel_preview

        result, pending = cancel_preview(self.hook.get_conn(), pair, **self._retry_args())
        self._outcome = self._outcome if pending else "nothing-pending"
        self._ids = {"request_id": result.request_id, "correlation_id": result.correlation_id}

    def on_kill(self) -> None:
        """Killed while this task's own preview was being applied or awaited: cancel that preview."""
        pair = self._pending_preview
        if pair is None:
            if self.action in ("swap", "complete"):
                self.log.warning(
                    "Task killed while waiting for a swap: Azure goes on with it; a retry reconnects to it"
                )
            return
        from airflow_provider_appservice.operations.swap_preview import slot_config

        self.log.warning("Task killed during the preview of %s: cancelling the preview", pair.label)
        try:
            slot_config(self.hook.get_conn(), pair, "reset", **self._retry_args())
            self._pending_preview = None
        except Exception as exc:
            self.log.error("Cancelling the preview of %s failed: %s", pair.label, exc)

    # -- swap / complete: ResumableJobMixin ---------------------------------------------------------

    def submit_job(self, context: Context) -> Any:
        from airflow_provider_appservice.operations.swap import check_can_start, start_swap, swap_record
        from airflow_provider_appservice.operations.swap_state import precheck_slots

        pair = self._pair()
        source = precheck_slots(self.hook.get_conn(), pair)
        check_can_start(self.action, pair, source)
        record = swap_record(self.action, pair, source)
        store = context.get("task_state_store")
        if store is not None:
            store.set(STATE_KEY, record)  # before the POST: a crash from here on is checked by state
        started = start_swap(
            self.hook.get_conn(),
            pair,
            preserve_vnet=self.preserve_vnet,
            before=source.last_swap,
            pending_before=bool(source.target_swap_slot),
            arm_host=self.hook.identity.cloud.arm_host,
            settle_interval=min(5.0, self.poll_interval),
            **self._retry_args(),
        )
        self._ids = {"request_id": started.request_id, "correlation_id": started.correlation_id}
        if started.verified_by_state:
            self._outcome = "verified-by-state"
        return {**record, "token": started.token}

    def get_job_status(self, external_id: Any, context: Context) -> str:
        from airflow_provider_appservice.operations.swap import record_matches, stored_swap_status

        pair = self._pair()
        if not record_matches(external_id, self.action, pair):
            self.log.warning("The stored swap record is for another swap; starting afresh")
            return "Unrelated"
        return stored_swap_status(self.hook.get_conn(), pair, external_id, logger=self.log)

    def is_job_active(self, status: str) -> bool:
        return status == "Running"

    def is_job_succeeded(self, status: str) -> bool:
        return status == "Succeeded"

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Wait (or defer), then finish. Returns the XCom value: the mixin returns it as is when
        it reconnects to a stored swap, and calls :meth:`get_job_result` after a fresh POST."""
        self._wait(external_id)
        self._result = self._finish(context, self._pair(), external_id.get("started") or time.time(), swapped=True)
        return self._result

    def _wait(self, external_id: Any) -> None:
        from airflow_provider_appservice.operations.swap_waits import wait_for_swap_end

        if not self.wait_for_completion:
            self._outcome = "accepted"
            return
        pair = self._pair()
        token = external_id.get("token")
        if self.deferrable:
            from airflow_provider_appservice.triggers.swap import AppServiceSwapTrigger

            self.defer(
                trigger=AppServiceSwapTrigger(
                    azure_app_service_conn_id=self.azure_app_service_conn_id,
                    resource_group=pair.resource_group,
                    app_name=pair.app_name,
                    slot=pair.source_slot,
                    target_slot=pair.target_slot,
                    poll_interval=self.poll_interval,
                    continuation_token=token,
                    before=external_id.get("before"),
                    pending_before=bool(external_id.get("pending_before")),
                    deadline=self.hook.clock.wall() + self.timeout,
                    started=external_id.get("started"),
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout + 60),
            )
        wait_for_swap_end(
            self.hook.get_conn(),
            pair,
            external_id,
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            clock=self.hook.clock,
        )

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        if self._result is not None:
            return self._result
        if self._outcome == "succeeded" and not self._ids:
            self._outcome = "already-succeeded"  # a retry found the stored swap finished
        return self._finish(context, self._pair(), external_id.get("started") or time.time(), swapped=True)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from airflow_provider_appservice.operations.swap_waits import checked_swap_event

        checked = checked_swap_event(event, "swap", f"The swap of {self._pair().label} did not finish in time")
        self._outcome = "succeeded"
        return self._finish(context, self._pair(), checked["started"] or time.time(), swapped=True)

    # -- the end ----------------------------------------------------------------------------------

    def _finish(self, context: Context, pair: SwapPair, started: float, *, swapped: bool) -> dict[str, Any]:
        accepted_only = self._outcome == "accepted"
        from airflow_provider_appservice.operations.swap import swap_result
        from airflow_provider_appservice.operations.swap_state import read_slot

        target = read_slot(self.hook.get_conn(), pair.resource_group, pair.app_name, pair.target_slot)
        audit(
            self.log,
            self.hook.identity,
            f"slots-{self.action}",
            target.site.resource_id,
            outcome=self._outcome,
            source_slot=pair.source_label,
            target_slot=pair.target_label,
            **self._ids,
        )
        self.push_portal_link(context, target.site.resource_id)
        if swapped and not accepted_only:
            self._emit_assets(context, pair)
        if swapped:
            store = context.get("task_state_store")
            if store is not None:
                store.delete(STATE_KEY)  # done: clearing this task later means "swap again"
        return swap_result(self.action, pair, self._outcome, started)

    def _emit_assets(self, context: Context, pair: SwapPair) -> None:
        extra = {"action": self.action, "source_slot": pair.source_label, "target_slot": pair.target_label}
        emit_slot_events(
            context,
            self.outlets,
            self.log,
            [
                (pair.resource_group, pair.app_name, slot, {**extra, "role": role})
                for slot, role in ((pair.source_slot, "source"), (pair.target_slot, "target"))
            ],
        )
