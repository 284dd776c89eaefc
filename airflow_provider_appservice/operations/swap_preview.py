"""Swap with preview: applySlotConfig (phase 1), resetSlotConfig (cancel), and waiting for the
preview to show on the source (a sans-I/O :class:`PreviewWait` with sync and async drivers).

Both writes are sent once and re-sent only on proof they were not applied; after an ambiguous
failure the source's ``targetSwapSlot`` decides. Nothing here knows Airflow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import failure_facts, is_ambiguous, was_not_applied
from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.errors import AmbiguousOutcomeError, AppServiceError, WaitTimeout
from airflow_provider_appservice.operations.swap import SwapIds, in_progress_error, raise_write_error
from airflow_provider_appservice.operations.swap_state import (
    SlotView,
    SwapPair,
    aread_slot,
    check_slots_supported,
    read_slot,
    same_slot,
)
from airflow_provider_appservice.operations.waits import PollingWait, WaitOutcome, adrive, drive
from airflow_provider_appservice.transport.backoff import Backoff
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)


def preview_already_pending(pair: SwapPair, source: SlotView) -> bool:
    """True when this pair's preview is already pending; raises when another swap holds the source."""
    if not source.target_swap_slot:
        return False
    if same_slot(source.target_swap_slot, pair.target_label):
        return True
    raise in_progress_error(pair, detail=f"'{pair.source_label}' targets '{source.target_swap_slot}' already")


def _slot_config_call(client: WebSiteManagementClient, pair: SwapPair, op: str, preserve_vnet: bool, **kw: Any) -> None:
    ops = client.web_apps
    rg, app = pair.resource_group, pair.app_name
    if op == "apply":
        if pair.source_slot:
            ops.apply_slot_configuration_slot(rg, app, pair.source_slot, pair.entity(preserve_vnet), **kw)
        else:
            ops.apply_slot_config_to_production(rg, app, pair.entity(preserve_vnet), **kw)
    elif pair.source_slot:
        ops.reset_slot_configuration_slot(rg, app, pair.source_slot, **kw)
    else:
        ops.reset_production_slot_config(rg, app, **kw)


@dataclass(frozen=True)
class SlotConfigResult:
    request_id: str | None
    correlation_id: str | None
    attempts: int
    verified_by_state: bool = False


def slot_config(
    client: WebSiteManagementClient,
    pair: SwapPair,
    op: str,
    *,
    preserve_vnet: bool = True,
    backoff: Backoff,
    max_attempts: int,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> SlotConfigResult:
    """``apply`` (applySlotConfig: preview) or ``reset`` (resetSlotConfig: cancel), sent once.

    Re-sent only on proof it was not applied. After an ambiguous failure the source's
    ``targetSwapSlot`` decides: set to the target after ``apply``, cleared after ``reset``.
    A reset that state shows still pending is sent once more (resetting is idempotent).
    """
    from azure.core.exceptions import AzureError

    if op not in ("apply", "reset"):
        raise ValueError(f"unknown slot config operation {op!r}")
    verb = "applySlotConfig/action" if op == "apply" else "resetSlotConfig/action"
    what = (
        "Applying slot config (preview) for " if op == "apply" else "Resetting slot config (cancel) for "
    ) + pair.label
    ids = SwapIds()
    attempts = 0

    def send() -> None:
        nonlocal attempts
        for attempt in retrying(
            what, retry_on=was_not_applied, backoff=backoff, max_attempts=max_attempts, clock=clock, logger=logger
        ):
            with attempt:
                attempts += 1
                _slot_config_call(client, pair, op, preserve_vnet, retry_total=0, raw_response_hook=ids)

    try:
        send()
    except AzureError as exc:
        if not is_ambiguous(exc):
            raise_write_error(what, pair, verb, exc)
        view = read_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
        if _settled_by_state(op, pair, view, what, logger):
            return SlotConfigResult(None, None, attempts, verified_by_state=True)
        if op == "apply":
            raise AmbiguousOutcomeError(
                f"{what} failed mid-flight ({failure_facts(exc)}) and the source slot shows no pending preview "
                f"(targetSwapSlot={view.target_swap_slot!r}). It was not re-sent; check the slot, then clear the task."
            ) from None
        logger.warning("%s: the answer was lost and the preview is still pending; resetting once more", what)
        try:
            send()
        except AzureError as again:
            raise_write_error(what, pair, verb, again)
    return SlotConfigResult(ids.request_id, ids.correlation_id, attempts)


def _settled_by_state(op: str, pair: SwapPair, view: SlotView, what: str, logger: logging.Logger | Any) -> bool:
    """After a lost answer: whether the source already shows what ``op`` was for (then not re-sent)."""
    pending = bool(view.target_swap_slot) and same_slot(view.target_swap_slot, pair.target_label)
    if op == "apply" and pending:
        logger.warning("%s: the answer was lost but targetSwapSlot shows the preview; not re-sent", what)
        return True
    if op == "reset" and not view.target_swap_slot:
        logger.warning("%s: the answer was lost but no preview is pending any more; not re-sent", what)
        return True
    return False


# -- waiting for a preview to show on the source (sans-I/O step, sync and async drivers) ----------


class PreviewWait(PollingWait):
    """Until the source slot's ``targetSwapSlot`` names the target: the preview is in place (no I/O).

    Feed it what ARM shows with :meth:`on_slot`. ``targetSwapSlot`` naming another slot means
    another swap or preview took the source over: that fails at once, naming it.
    """

    def __init__(self, pair: SwapPair, *, deadline: float, timeout: float, interval: float) -> None:
        super().__init__(deadline=deadline, timeout=timeout, interval=interval)
        self.pair = pair
        self.seen: str | None = None

    def on_slot(self, target_swap_slot: str | None) -> str:
        """One read of the source slot; returns the log line for it."""
        self.counted()
        self.seen = target_swap_slot
        pair = self.pair
        if target_swap_slot and same_slot(target_swap_slot, pair.target_label):
            self.succeed(f"{pair.source_label} now runs with {pair.target_label}'s slot settings (preview pending)")
            return self.outcome.message if self.outcome else ""
        if target_swap_slot:
            self.fail(
                f"The preview of {pair.label} did not take: '{pair.source_label}' targets '{target_swap_slot}' "
                "(another swap or swap with preview took the slot over). Complete or cancel that one first."
            )
            return self.outcome.message if self.outcome else ""
        return f"{pair.source_label} does not show the preview yet (targetSwapSlot empty)"

    def timeout_message(self) -> str:
        return (
            f"The preview of {self.pair.label} did not show on the source within {self.timeout:g}s "
            f"(targetSwapSlot={self.seen!r}); it may still be applied: check the slot, then complete or cancel it"
        )


def wait_for_preview(
    client: WebSiteManagementClient,
    wait: PreviewWait,
    *,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> WaitOutcome:
    """Sync driver: read the source slot until the preview shows, fails or the deadline passes."""
    pair = wait.pair

    def look() -> None:
        view = read_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
        logger.info("%s", wait.on_slot(view.target_swap_slot))

    return drive(wait, look, clock)


def watch_preview(
    client: WebSiteManagementClient,
    pair: SwapPair,
    *,
    timeout: float,
    poll_interval: float,
    clock: Clock,
    logger: logging.Logger | Any = log,
) -> str:
    """The worker's whole wait for a preview: its message when it shows, else the error it ends with."""
    wait = PreviewWait(pair, deadline=clock.now() + timeout, timeout=timeout, interval=poll_interval)
    outcome = wait_for_preview(client, wait, clock=clock, logger=logger)
    if outcome.timed_out:
        raise WaitTimeout(outcome.message)
    if not outcome.succeeded:
        raise AppServiceError(outcome.message)
    return outcome.message


def cancel_preview(
    client: WebSiteManagementClient, pair: SwapPair, *, logger: logging.Logger | Any = log, **retry: Any
) -> tuple[SlotConfigResult, bool]:
    """resetSlotConfig after checking the plan; returns its result and whether a preview was pending.

    ``retry`` is :func:`slot_config`'s ``backoff``, ``max_attempts`` and ``clock``.
    """
    check_slots_supported(read_slot(client, pair.resource_group, pair.app_name, None), pair.app_name)
    source = read_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
    if not source.target_swap_slot:
        logger.info("No preview is pending on %s; resetting its slot config anyway", pair.source_label)
    return slot_config(client, pair, "reset", logger=logger, **retry), bool(source.target_swap_slot)


async def await_preview(
    client: Any, wait: PreviewWait, *, clock: Clock | None = None, logger: logging.Logger | Any = log
) -> WaitOutcome:
    """Async driver (the trigger's), on the aio ARM client: the same decisions."""
    pair = wait.pair

    async def look() -> None:
        view = await aread_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
        logger.info("%s", wait.on_slot(view.target_swap_slot))

    return await adrive(wait, look, clock)


async def acancel_preview(client: Any, pair: SwapPair, *, logger: logging.Logger | Any = log) -> bool:
    """resetSlotConfig on the aio ARM client, if (and only if) this pair's preview is pending.

    The one write on the async side: a deferred preview's trigger sends it when the task is
    killed. Resetting is idempotent, so the client's retry policy may re-send it. Returns
    whether a reset was sent.
    """
    from azure.core.exceptions import HttpResponseError

    view = await aread_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
    if not (view.target_swap_slot and same_slot(view.target_swap_slot, pair.target_label)):
        logger.info(
            "No preview of %s is pending (targetSwapSlot=%r); nothing to cancel", pair.label, view.target_swap_slot
        )
        return False
    ops = client.web_apps
    try:
        if pair.source_slot:
            await ops.reset_slot_configuration_slot(pair.resource_group, pair.app_name, pair.source_slot)
        else:
            await ops.reset_production_slot_config(pair.resource_group, pair.app_name)
    except HttpResponseError as exc:
        raise_write_error(f"Resetting slot config (cancel) for {pair.label}", pair, "resetSlotConfig/action", exc)
    logger.warning("Cancelled the preview of %s (resetSlotConfig)", pair.label)
    return True
