"""Slot swaps, swap with preview (applySlotConfig) and its cancellation (resetSlotConfig).

A swap is a long-running POST (202 + ``Location``; polls answer 202, then 200 with the site).
It is **never re-sent blindly**: the SDK retry is off for the POST (``retry_total=0`` — azure-core
would re-POST on any status carrying Retry-After) while the polls keep the client's retry
policy, because the poller is passed explicitly (``polling=ARMPolling(...)``) instead of being
built from the POST's keyword arguments. A 429/503 or a refused connection proves the swap was
not applied, so it is re-sent after the advertised wait. After an ambiguous failure (a reset, a
500/502/504) the source slot's ``slotSwapStatus`` decides: a swap of this pair newer than the
one seen before the POST means it was applied (and is waited for by state); otherwise the task
fails saying so, without re-sending — re-sending an applied swap swaps back.

The poller's continuation token (base64 JSON: the POST's method and URL, its
``x-ms-client-request-id``, the ``Location``/``Retry-After`` headers and the empty body — no
``Authorization``) is checked by :func:`check_continuation_token` before anything stores it, so
a worker or triggerer can resume the wait without re-POSTing.

Plain functions on SDK clients; nothing here knows Airflow. Decisions without I/O
(:func:`swap_progress`, :func:`names_match`) are shared by the sync worker path and the async
trigger path.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from airflow_provider_appservice.boundary import classify, is_ambiguous, parse_error_body, status_of, was_not_applied
from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import (
    AmbiguousOutcomeError,
    AppServiceError,
    PermanentAzureError,
    SwapInProgressError,
    WaitTimeout,
)
from airflow_provider_appservice.operations.sites import SiteInfo, site_info
from airflow_provider_appservice.operations.targets import PRODUCTION, AppTarget
from airflow_provider_appservice.operations.waits import PollingWait, WaitOutcome, adrive, drive
from airflow_provider_appservice.transport.backoff import Backoff
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

# Plan tiers (``Site.sku``) without deployment slots.
NO_SLOT_TIERS = frozenset({"free", "shared", "basic", "dynamic", "flexconsumption"})
# Headers azure-core keeps in a continuation token (its allowlist, azure/core/polling/_utils.py).
TOKEN_RESPONSE_HEADERS = frozenset(
    {"operation-location", "azure-asyncoperation", "location", "content-type", "retry-after"}
)
TOKEN_REQUEST_HEADERS = frozenset({"x-ms-client-request-id"})

RUNNING, APPLIED, NOT_APPLIED = "running", "applied", "not-applied"


def _label(slot: str | None) -> str:
    return slot if slot else PRODUCTION


@dataclass(frozen=True)
class SwapPair:
    """Which slot goes where: ``source_slot``/``target_slot`` are slot names, ``None`` = production."""

    resource_group: str
    app_name: str
    source_slot: str | None
    target_slot: str | None

    @property
    def source_label(self) -> str:
        return _label(self.source_slot)

    @property
    def target_label(self) -> str:
        return _label(self.target_slot)

    @property
    def label(self) -> str:
        return f"{self.app_name} ({self.source_label} -> {self.target_label})"

    @property
    def source(self) -> AppTarget:
        return AppTarget(self.resource_group, self.app_name, self.source_slot)

    @property
    def target(self) -> AppTarget:
        return AppTarget(self.resource_group, self.app_name, self.target_slot)

    @property
    def production(self) -> AppTarget:
        return AppTarget(self.resource_group, self.app_name, None)

    def required_action(self, verb: str) -> str:
        """The RBAC action on the source, e.g. ``Microsoft.Web/sites/slots/slotsswap/action``."""
        return self.source.action(verb)

    def entity(self, preserve_vnet: bool) -> Any:
        from azure.mgmt.web.models import CsmSlotEntity

        return CsmSlotEntity(target_slot=self.target_label, preserve_vnet=preserve_vnet)


@dataclass(frozen=True)
class SlotView:
    """What ARM shows of one slot that matters to a swap."""

    site: SiteInfo
    sku: str | None
    plan: str | None
    last_swap: datetime | None
    last_swap_source: str | None
    last_swap_destination: str | None
    target_swap_slot: str | None

    @property
    def last_swap_iso(self) -> str | None:
        return self.last_swap.isoformat() if self.last_swap else None


def slot_view(site: Any, slot: str | None) -> SlotView:
    status = getattr(site, "slot_swap_status", None)
    farm = getattr(site, "server_farm_id", None) or ""
    return SlotView(
        site=site_info(site, slot),
        sku=getattr(site, "sku", None),
        plan=farm.rstrip("/").rsplit("/", 1)[-1] or None,
        last_swap=getattr(status, "timestamp_utc", None) if status else None,
        last_swap_source=getattr(status, "source_slot_name", None) if status else None,
        last_swap_destination=getattr(status, "destination_slot_name", None) if status else None,
        target_swap_slot=getattr(site, "target_swap_slot", None) or None,
    )


def _read_action(slot: str | None) -> str:
    return "Microsoft.Web/sites/slots/read" if slot else "Microsoft.Web/sites/read"


def read_slot(client: WebSiteManagementClient, resource_group: str, app_name: str, slot: str | None) -> SlotView:
    from azure.core.exceptions import HttpResponseError

    try:
        site = (
            client.web_apps.get_slot(resource_group, app_name, slot)
            if slot
            else client.web_apps.get(resource_group, app_name)
        )
    except HttpResponseError as exc:
        raise classify(f"Reading app '{app_name}/{_label(slot)}'", exc, required_action=_read_action(slot)) from None
    return slot_view(site, slot)


async def aread_slot(client: Any, resource_group: str, app_name: str, slot: str | None) -> SlotView:
    """Async twin of :func:`read_slot` (``client`` is the aio ARM client)."""
    from azure.core.exceptions import HttpResponseError

    try:
        if slot:
            site = await client.web_apps.get_slot(resource_group, app_name, slot)
        else:
            site = await client.web_apps.get(resource_group, app_name)
    except HttpResponseError as exc:
        raise classify(f"Reading app '{app_name}/{_label(slot)}'", exc, required_action=_read_action(slot)) from None
    return slot_view(site, slot)


# -- decisions without I/O ----------------------------------------------------------------------


def same_slot(a: str | None, b: str | None) -> bool:
    """Slot names as ARM writes them (``Production``, ``staging``) against ours."""
    return _label((a or "").strip().lower() or None) == _label((b or "").strip().lower() or None)


def names_match(view: SlotView, pair: SwapPair) -> bool:
    """Whether ``slotSwapStatus`` names this pair (in either direction: a swap is symmetric)."""
    src, dst = view.last_swap_source, view.last_swap_destination
    if not src or not dst:
        return False
    return (same_slot(src, pair.source_label) and same_slot(dst, pair.target_label)) or (
        same_slot(src, pair.target_label) and same_slot(dst, pair.source_label)
    )


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def swap_progress(view: SlotView, pair: SwapPair, before: datetime | None, pending_before: bool) -> str:
    """Where a swap of ``pair`` stands, judged from the source slot as ARM shows it now.

    ``before``: the source's ``slotSwapStatus.timestampUtc`` read before the POST;
    ``pending_before``: whether ``targetSwapSlot`` was already set then (a pending preview).
    A newer swap of this pair means it was applied — still ``running`` while ``targetSwapSlot``
    names the target; a ``targetSwapSlot`` that appeared since the POST means it runs.
    """
    targets = same_slot(view.target_swap_slot, pair.target_label) if view.target_swap_slot else False
    newer = view.last_swap is not None and (before is None or view.last_swap > before)
    if newer and names_match(view, pair):
        return RUNNING if targets else APPLIED
    if targets and not pending_before:
        return RUNNING
    return NOT_APPLIED


def check_slots_supported(view: SlotView, app_name: str) -> None:
    """Fail, naming the plan, when the app's plan tier has no deployment slots."""
    tier = (view.sku or "").strip()
    if tier.lower() in NO_SLOT_TIERS:
        plan = f"App Service plan '{view.plan}' ({tier} tier)" if view.plan else f"its {tier} plan"
        raise PermanentAzureError(
            f"Swap on app '{app_name}'",
            status=None,
            code="SlotsNotSupported",
            message=f"the app runs on {plan}, which has no deployment slots "
            "(Free, Shared, Basic, Consumption and Flex Consumption plans have none). "
            "Scale the plan up to Standard, Premium or Elastic Premium to use slots",
        )


def check_continuation_token(token: str, arm_host: str) -> str:
    """Return ``token`` if it holds nothing but what resuming needs, on the ARM host; else raise.

    Called before a token goes into ``task_state_store`` or trigger kwargs (both stored in
    Airflow's database and printed).
    """
    try:
        wrapper = json.loads(base64.b64decode(token, validate=True))
        data = wrapper["data"]
        request = data.get("request") or {}
        response = data["response"]
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise AppServiceError("The swap's continuation token has an unexpected format; it was not stored") from None
    lowered = json.dumps(data).lower()
    problems = []
    if "authorization" in lowered or "bearer" in lowered:
        problems.append("it mentions an Authorization header or bearer token")
    extra_request = {k.lower() for k in (request.get("headers") or {})} - TOKEN_REQUEST_HEADERS
    if extra_request:
        problems.append(f"it carries request headers {sorted(extra_request)}")
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    extra_response = set(headers) - TOKEN_RESPONSE_HEADERS
    if extra_response:
        problems.append(f"it carries response headers {sorted(extra_response)}")
    for name in ("location", "azure-asyncoperation", "operation-location"):
        url = headers.get(name)
        if url and (urlsplit(url).scheme != "https" or (urlsplit(url).hostname or "").lower() != arm_host.lower()):
            problems.append(f"its {name} is not an https URL on {arm_host}")
    url = request.get("url")
    if url and (urlsplit(url).hostname or "").lower() != arm_host.lower():
        problems.append(f"its request URL is not on {arm_host}")
    if problems:
        raise AppServiceError("The swap's continuation token was not stored: " + "; ".join(problems))
    return token


# -- is it safe to send again? -------------------------------------------------------------------

# -- calls ----------------------------------------------------------------------------------------


def _no_wait_polling() -> Any:
    """An ARM poller that takes the initial answer apart but never polls (for deferral)."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class _InitialOnly(ARMPolling):
        def run(self) -> None:
            return None

    return _InitialOnly(0)


def _one_poll_polling() -> Any:
    """An ARM poller that polls exactly once (to ask where a stored swap stands)."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class _OnePoll(ARMPolling):
        def run(self) -> None:
            if not self.finished():
                self.update_status()

    return _OnePoll(0)


def _begin(client: WebSiteManagementClient, pair: SwapPair, entity: Any, **kwargs: Any) -> Any:
    ops = client.web_apps
    if pair.source_slot:
        return ops.begin_swap_slot(pair.resource_group, pair.app_name, pair.source_slot, entity, **kwargs)
    return ops.begin_swap_slot_with_production(pair.resource_group, pair.app_name, entity, **kwargs)


@dataclass
class _Ids:
    request_id: str | None = None
    correlation_id: str | None = None

    def __call__(self, pipeline_response: Any) -> None:
        headers = pipeline_response.http_response.headers
        self.request_id = headers.get("x-ms-request-id")
        self.correlation_id = headers.get("x-ms-correlation-request-id")


@dataclass(frozen=True)
class SwapStarted:
    """A swap Azure accepted (``token`` set) or, after an ambiguous failure, one state shows."""

    token: str | None
    request_id: str | None
    correlation_id: str | None
    attempts: int
    verified_by_state: bool = False


def in_progress_error(pair: SwapPair, exc: Exception | None = None, detail: str | None = None) -> SwapInProgressError:
    message = detail or ""
    request_id = None
    if exc is not None:
        response = getattr(exc, "response", None)
        if response is not None:
            try:
                _, message = parse_error_body(response.text())
            except Exception:
                message = ""
            request_id = response.headers.get("x-ms-request-id")
    return SwapInProgressError(
        f"Swap of {pair.label}",
        status=409 if exc is not None else None,
        code="SwapInProgress",
        message=(message + ". " if message else "")
        + "Another swap or a swap with preview is under way on this app: wait for it to finish, "
        "or complete/cancel the pending preview (action='complete' or 'cancel'), then retry",
        request_id=request_id,
    )


def _raise_write_error(what: str, pair: SwapPair, verb: str, exc: Exception) -> None:
    if status_of(exc) == 409:
        raise in_progress_error(pair, exc) from None
    raise classify(what, exc, required_action=pair.required_action(verb)) from None


def start_swap(
    client: WebSiteManagementClient,
    pair: SwapPair,
    *,
    preserve_vnet: bool,
    before: datetime | None,
    pending_before: bool,
    arm_host: str,
    backoff: Backoff,
    max_attempts: int,
    settle_checks: int = 3,
    settle_interval: float = 5.0,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> SwapStarted:
    """POST the swap once (re-sent only on proof it was not applied) and return its checked token."""
    from azure.core.exceptions import AzureError

    clock = clock or default_clock()
    ids = _Ids()
    attempts = 0
    poller = None
    try:
        for attempt in retrying(
            f"swap {pair.label}",
            retry_on=was_not_applied,
            backoff=backoff,
            max_attempts=max_attempts,
            clock=clock,
            logger=logger,
        ):
            with attempt:
                attempts += 1
                poller = _begin(
                    client,
                    pair,
                    pair.entity(preserve_vnet),
                    retry_total=0,
                    polling=_no_wait_polling(),
                    raw_response_hook=ids,
                )
    except AzureError as exc:
        if not is_ambiguous(exc):
            _raise_write_error(f"Swap of {pair.label}", pair, "slotsswap/action", exc)
        progress = settle_after_ambiguity(
            lambda: read_slot(client, pair.resource_group, pair.app_name, pair.source_slot),
            pair,
            before,
            pending_before,
            exc,
            checks=settle_checks,
            interval=settle_interval,
            sleep=clock.sleep,
            logger=logger,
        )
        logger.warning(
            "Swap %s: the answer was lost (%s) but slotSwapStatus shows the swap %s; it was not re-sent",
            pair.label,
            type(exc).__name__,
            progress,
        )
        return SwapStarted(None, None, None, attempts, verified_by_state=True)
    assert poller is not None
    token = check_continuation_token(poller.continuation_token(), arm_host)
    return SwapStarted(token, ids.request_id, ids.correlation_id, attempts)


def settle_after_ambiguity(
    read: Any,
    pair: SwapPair,
    before: datetime | None,
    pending_before: bool,
    exc: BaseException,
    *,
    checks: int,
    interval: float,
    sleep: Any,
    logger: logging.Logger | Any = log,
) -> str:
    """After an ambiguous failure: ``running``/``applied`` if state shows the swap, else raise."""
    for check in range(max(1, checks)):
        view = read()
        progress = swap_progress(view, pair, before, pending_before)
        if progress != NOT_APPLIED:
            return progress
        if check + 1 < checks:
            logger.info("Swap %s: no sign of it yet in slotSwapStatus, checking again in %.1fs", pair.label, interval)
            sleep(interval)
    status = status_of(exc)
    raise AmbiguousOutcomeError(
        f"Swap of {pair.label} failed mid-flight ({type(exc).__name__}"
        + (f", HTTP {status}" if status else "")
        + ") and the source slot's slotSwapStatus shows no newer swap of this pair "
        f"(last: {view.last_swap_iso or 'none'}). It was NOT re-sent, because re-sending an applied "
        "swap swaps back. Check which build each slot serves, then clear the task to try again."
    )


def wait_for_swap(
    client: WebSiteManagementClient, pair: SwapPair, token: str, *, timeout: float, poll_interval: float
) -> None:
    """Resume the ARM poller from ``token`` and wait at most ``timeout`` seconds."""
    from azure.core.exceptions import AzureError
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    poller = _begin(client, pair, cast(Any, None), continuation_token=token, polling=ARMPolling(poll_interval))
    try:
        poller.wait(timeout)
        if not poller.done():
            raise WaitTimeout(swap_timeout_message(pair, timeout))
        poller.result()
    except AzureError as exc:
        raise classify(f"Swap of {pair.label}", exc, required_action=_read_action(pair.source_slot)) from None


def probe_swap(client: WebSiteManagementClient, pair: SwapPair, token: str) -> str:
    """Poll a stored swap's ``Location`` once: ``InProgress``, ``Succeeded`` or ``Failed``."""
    from azure.core.exceptions import AzureError

    poller = _begin(client, pair, cast(Any, None), continuation_token=token, polling=_one_poll_polling())
    try:
        poller.wait(60)
        return str(poller.status())
    except AzureError:
        return "Failed"


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
        raise classify(f"Swap of {pair.label}", exc, required_action=_read_action(pair.source_slot)) from None


# -- swap with preview ------------------------------------------------------------------------------


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
    ids = _Ids()
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
            _raise_write_error(what, pair, verb, exc)
        view = read_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
        pending = bool(view.target_swap_slot) and same_slot(view.target_swap_slot, pair.target_label)
        if op == "apply" and pending:
            logger.warning("%s: the answer was lost but targetSwapSlot shows the preview; not re-sent", what)
            return SlotConfigResult(None, None, attempts, verified_by_state=True)
        if op == "reset" and not view.target_swap_slot:
            logger.warning("%s: the answer was lost but no preview is pending any more; not re-sent", what)
            return SlotConfigResult(None, None, attempts, verified_by_state=True)
        if op == "reset":
            logger.warning("%s: the answer was lost and the preview is still pending; resetting once more", what)
            try:
                send()
            except AzureError as again:
                _raise_write_error(what, pair, verb, again)
            return SlotConfigResult(ids.request_id, ids.correlation_id, attempts)
        raise AmbiguousOutcomeError(
            f"{what} failed mid-flight ({type(exc).__name__}) and the source slot shows no pending preview "
            f"(targetSwapSlot={view.target_swap_slot!r}). It was not re-sent; check the slot, then clear the task."
        ) from None
    return SlotConfigResult(ids.request_id, ids.correlation_id, attempts)


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
        _raise_write_error(f"Resetting slot config (cancel) for {pair.label}", pair, "resetSlotConfig/action", exc)
    logger.warning("Cancelled the preview of %s (resetSlotConfig)", pair.label)
    return True
