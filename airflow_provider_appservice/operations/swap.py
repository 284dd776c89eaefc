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

Plain functions on SDK clients; nothing here knows Airflow. The decisions without I/O
(:func:`~.swap_state.swap_progress`) live in :mod:`.swap_state`; waiting for a swap to end is
:mod:`.swap_waits`; swap with preview (applySlotConfig/resetSlotConfig) is :mod:`.swap_preview`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from airflow_provider_appservice.boundary import (
    classify,
    failure_facts,
    is_ambiguous,
    parse_error_body,
    status_of,
    was_not_applied,
)
from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import (
    AmbiguousOutcomeError,
    AppServiceError,
    SwapInProgressError,
    TaskArgumentError,
)
from airflow_provider_appservice.operations.swap_state import (
    APPLIED,
    NOT_APPLIED,
    RUNNING,
    SlotView,
    SwapPair,
    parse_time,
    read_slot,
    same_slot,
    swap_progress,
)
from airflow_provider_appservice.transport.backoff import Backoff
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

# Headers azure-core keeps in a continuation token (its allowlist, azure/core/polling/_utils.py).
TOKEN_RESPONSE_HEADERS = frozenset(
    {"operation-location", "azure-asyncoperation", "location", "content-type", "retry-after"}
)
TOKEN_REQUEST_HEADERS = frozenset({"x-ms-client-request-id"})


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


def begin_swap(client: WebSiteManagementClient, pair: SwapPair, entity: Any, **kwargs: Any) -> Any:
    ops = client.web_apps
    if pair.source_slot:
        return ops.begin_swap_slot(pair.resource_group, pair.app_name, pair.source_slot, entity, **kwargs)
    return ops.begin_swap_slot_with_production(pair.resource_group, pair.app_name, entity, **kwargs)


@dataclass
class SwapIds:
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


def raise_write_error(what: str, pair: SwapPair, verb: str, exc: Exception) -> None:
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
    post = _SwapPost(client, pair, preserve_vnet)
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
                post.send()
    except AzureError as exc:
        if not is_ambiguous(exc):
            raise_write_error(f"Swap of {pair.label}", pair, "slotsswap/action", exc)
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
        return SwapStarted(None, None, None, post.attempts, verified_by_state=True)
    return post.started(arm_host)


class _SwapPost:
    """One swap POST per :meth:`send` (SDK retry off, no polling), counted, with Azure's ids."""

    def __init__(self, client: WebSiteManagementClient, pair: SwapPair, preserve_vnet: bool) -> None:
        self.client, self.pair, self.preserve_vnet = client, pair, preserve_vnet
        self.ids = SwapIds()
        self.attempts = 0
        self.poller: Any = None

    def send(self) -> None:
        self.attempts += 1
        self.poller = begin_swap(
            self.client,
            self.pair,
            self.pair.entity(self.preserve_vnet),
            retry_total=0,
            polling=_no_wait_polling(),
            raw_response_hook=self.ids,
        )

    def started(self, arm_host: str) -> SwapStarted:
        assert self.poller is not None
        token = check_continuation_token(self.poller.continuation_token(), arm_host)
        return SwapStarted(token, self.ids.request_id, self.ids.correlation_id, self.attempts)


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
    raise AmbiguousOutcomeError(
        f"Swap of {pair.label} failed mid-flight ({failure_facts(exc)}) "
        "and the source slot's slotSwapStatus shows no newer swap of this pair "
        f"(last: {view.last_swap_iso or 'none'}). It was not re-sent, because re-sending an applied "
        "swap swaps back. Check which build each slot serves, then clear the task to try again."
    )


def probe_swap(client: WebSiteManagementClient, pair: SwapPair, token: str) -> str:
    """Poll a stored swap's ``Location`` once: ``InProgress``, ``Succeeded`` or ``Failed``."""
    from azure.core.exceptions import AzureError

    poller = begin_swap(client, pair, cast(Any, None), continuation_token=token, polling=_one_poll_polling())
    try:
        poller.wait(60)
        return str(poller.status())
    except AzureError:
        return "Failed"


# -- the record a resumable swap keeps ---------------------------------------------------------------


def check_can_start(action: str, pair: SwapPair, source: SlotView) -> None:
    """A ``swap`` needs a source without a pending swap or preview; a ``complete`` needs this pair's preview."""
    pending = source.target_swap_slot
    if action == "swap" and pending:
        raise in_progress_error(
            pair, detail=f"slot '{pair.source_label}' already has a swap or preview towards '{pending}'"
        )
    if action == "complete" and not (pending and same_slot(pending, pair.target_label)):
        raise TaskArgumentError(
            "action",
            f"is 'complete'. No swap with preview from '{pair.source_label}' to '{pair.target_label}' is pending "
            f"on app '{pair.app_name}' (targetSwapSlot={pending!r})",
            "run action='preview' first, or use action='swap'",
        )


def swap_record(action: str, pair: SwapPair, source: SlotView) -> dict[str, Any]:
    """What ``task_state_store`` keeps before the POST (names and times; the token comes later)."""
    return {
        "action": action,
        "resource_group": pair.resource_group,
        "app_name": pair.app_name,
        "source_slot": pair.source_label,
        "target_slot": pair.target_label,
        "before": source.last_swap_iso,
        "pending_before": bool(source.target_swap_slot),
        "started": time.time(),
        "token": None,
    }


def record_matches(record: Any, action: str, pair: SwapPair) -> bool:
    """Whether a stored record is this swap's (a record is untrusted input)."""
    return (
        isinstance(record, dict)
        and record.get("action") == action
        and str(record.get("resource_group", "")).lower() == pair.resource_group.lower()
        and str(record.get("app_name", "")).lower() == pair.app_name.lower()
        and record.get("source_slot") == pair.source_label
        and record.get("target_slot") == pair.target_label
    )


def stored_swap_status(
    client: WebSiteManagementClient, pair: SwapPair, record: dict[str, Any], *, logger: logging.Logger | Any = log
) -> str:
    """Where a stored swap stands: ``Running``, ``Succeeded`` or ``NotApplied``.

    Azure's own answer to the stored continuation token first; else the source's ``slotSwapStatus``.
    """
    token = record.get("token")
    if token:
        status = probe_swap(client, pair, token)
        logger.info("Stored swap of %s: Azure reports %s", pair.label, status)
        if status == "InProgress":
            return "Running"
        if status == "Succeeded":
            return "Succeeded"
    view = read_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
    progress = swap_progress(view, pair, parse_time(record.get("before")), bool(record.get("pending_before")))
    logger.info("Stored swap of %s: slotSwapStatus says %s", pair.label, progress)
    return {RUNNING: "Running", APPLIED: "Succeeded"}.get(progress, "NotApplied")


def swap_result(action: str, pair: SwapPair, status: str, started: float) -> dict[str, Any]:
    """The swap task's XCom: names, the outcome and how long it took (no ids, no token)."""
    return {
        "action": action,
        "source_slot": pair.source_label,
        "target_slot": pair.target_label,
        "status": status,
        "duration_seconds": round(max(0.0, time.time() - float(started)), 3),
    }
