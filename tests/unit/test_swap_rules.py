"""Where does a swap stand? ``swap_progress`` and ``settle_after_ambiguity``, one table each.

Slots are the SDK's own ``Site`` models built from the JSON ARM answers with, so
``slotSwapStatus`` and ``targetSwapSlot`` go through the same deserialisation as in production.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from airflow_provider_appservice.errors import AmbiguousOutcomeError
from airflow_provider_appservice.operations.swap import settle_after_ambiguity
from airflow_provider_appservice.operations.swap_state import (
    APPLIED,
    NOT_APPLIED,
    RUNNING,
    SlotView,
    SwapPair,
    slot_view,
    swap_progress,
)
from tests.unit.azure_failures import arm_error, swap_failure

BEFORE = "2026-11-20T10:00:00Z"  # slotSwapStatus.timestampUtc read before the POST
EARLIER = "2026-11-19T08:00:00Z"
LATER = "2026-11-20T10:05:00Z"
STAGING_TO_PROD = SwapPair("rg", "app", "staging", None)
STAGING_TO_QA = SwapPair("rg", "app", "staging", "qa")


def view(
    last: str | None = None,
    source: str | None = "staging",
    destination: str | None = "production",
    target_swap_slot: str | None = None,
) -> SlotView:
    """The source slot (``staging``) as ARM's GET shows it."""
    from azure.mgmt.web.models import Site

    props: dict[str, Any] = {"state": "Running", "sku": "Standard", "targetSwapSlot": target_swap_slot}
    if last is not None:
        props["slotSwapStatus"] = {"timestampUtc": last, "sourceSlotName": source, "destinationSlotName": destination}
    site = Site(
        {
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/staging",
            "name": "app/staging",
            "kind": "app",
            "location": "West Europe",
            "properties": props,
        }
    )
    return slot_view(site, "staging")


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


# (pair, the source slot now, before, pending_before, expected, why)
PROGRESS_CASES = [
    pytest.param(STAGING_TO_PROD, view(LATER), BEFORE, False, APPLIED, "a newer swap of this pair", id="applied"),
    pytest.param(
        STAGING_TO_PROD,
        view(LATER, target_swap_slot="production"),
        BEFORE,
        False,
        RUNNING,
        "newer, and targetSwapSlot still names the target",
        id="newer-still-targeting",
    ),
    pytest.param(
        STAGING_TO_PROD,
        view(LATER, source="production", destination="staging"),
        BEFORE,
        False,
        APPLIED,
        "a swap is symmetric: ARM may name the pair the other way round",
        id="reverse-direction",
    ),
    pytest.param(
        STAGING_TO_PROD,
        view(LATER, source="STAGING", destination="Production"),
        BEFORE,
        False,
        APPLIED,
        "ARM writes Production (and any case); slot names compare case-insensitively",
        id="arm-casing",
    ),
    pytest.param(
        STAGING_TO_PROD, view(BEFORE), BEFORE, False, NOT_APPLIED, "the same swap as before the POST", id="same-time"
    ),
    pytest.param(STAGING_TO_PROD, view(EARLIER), BEFORE, False, NOT_APPLIED, "an older swap", id="older"),
    pytest.param(
        STAGING_TO_PROD,
        view(LATER, source="staging2"),
        BEFORE,
        False,
        NOT_APPLIED,
        "a newer swap of another pair says nothing about ours",
        id="other-pair",
    ),
    pytest.param(
        STAGING_TO_PROD,
        view(LATER, destination=None),
        BEFORE,
        False,
        NOT_APPLIED,
        "a status that does not name both slots is no proof",
        id="half-named",
    ),
    pytest.param(STAGING_TO_PROD, view(), None, False, NOT_APPLIED, "never swapped, not even now", id="never"),
    pytest.param(
        STAGING_TO_PROD, view(LATER), None, False, APPLIED, "the first swap of this slot ever", id="first-swap"
    ),
    pytest.param(
        STAGING_TO_PROD,
        view(BEFORE, target_swap_slot="production"),
        BEFORE,
        False,
        RUNNING,
        "targetSwapSlot appeared since the POST: the swap has begun",
        id="target-appeared",
    ),
    pytest.param(
        STAGING_TO_PROD,
        view(BEFORE, target_swap_slot="production"),
        BEFORE,
        True,
        NOT_APPLIED,
        "targetSwapSlot was already set by a pending preview: no sign of our swap",
        id="preview-pending-before",
    ),
    pytest.param(
        STAGING_TO_PROD,
        view(LATER, target_swap_slot="production"),
        BEFORE,
        True,
        RUNNING,
        "completing a preview: newer status, target still named",
        id="preview-completing",
    ),
    pytest.param(
        STAGING_TO_PROD,
        view(BEFORE, target_swap_slot="qa"),
        BEFORE,
        False,
        NOT_APPLIED,
        "targetSwapSlot names another slot",
        id="targets-other-slot",
    ),
    pytest.param(
        STAGING_TO_QA,
        view(LATER, destination="qa"),
        BEFORE,
        False,
        APPLIED,
        "slot to slot",
        id="slot-to-slot",
    ),
    pytest.param(
        STAGING_TO_QA,
        view(LATER),
        BEFORE,
        False,
        NOT_APPLIED,
        "slot to slot: a newer swap with production is not ours",
        id="slot-to-slot-other",
    ),
]


@pytest.mark.parametrize(("pair", "now", "before", "pending_before", "expected", "why"), PROGRESS_CASES)
def test_swap_progress(
    pair: SwapPair, now: SlotView, before: str | None, pending_before: bool, expected: str, why: str
):
    assert swap_progress(now, pair, ts(before), pending_before) == expected, why


# (what successive reads show, checks, expected: a progress or the error's words, sleeps, why)
SETTLE_CASES = [
    pytest.param([view(LATER)], 3, APPLIED, [], "the first read shows it: no wait", id="seen-at-once"),
    pytest.param(
        [view(BEFORE, target_swap_slot="production")], 3, RUNNING, [], "running is an answer too", id="running"
    ),
    pytest.param(
        [view(BEFORE), view(LATER)], 3, APPLIED, [5.0], "ARM shows it on the second look", id="seen-on-second-read"
    ),
    pytest.param(
        [view(BEFORE)] * 3,
        3,
        "not re-sent",
        [5.0, 5.0],
        "three looks, a wait between each, none after the last; then it fails",
        id="never-seen",
    ),
    pytest.param([view(BEFORE)], 1, "not re-sent", [], "one look, no wait", id="one-check"),
    pytest.param([view(BEFORE)], 0, "not re-sent", [], "it always looks at least once", id="zero-checks"),
    pytest.param([view()], 2, "(last: none)", [5.0], "the message says no swap was ever recorded", id="no-swap-ever"),
    pytest.param(
        [view(BEFORE)], 1, "(last: 2026-11-20T10:00:00", [], "the message names the last swap seen", id="last-seen"
    ),
]


class Reads:
    """``read()`` for ``settle_after_ambiguity``: the views in order, the last one repeated."""

    def __init__(self, views: list[SlotView]) -> None:
        self.views = views
        self.count = 0

    def __call__(self) -> SlotView:
        self.count += 1
        return self.views[min(self.count, len(self.views)) - 1]


@pytest.mark.parametrize(("views", "checks", "expected", "sleeps", "why"), SETTLE_CASES)
def test_settle_after_ambiguity(views: list[SlotView], checks: int, expected: str, sleeps: list[float], why: str):
    read, slept = Reads(views), list[float]()
    exc = swap_failure(arm_error(502, "BadGateway"))

    def settle() -> str:
        return settle_after_ambiguity(
            read, STAGING_TO_PROD, ts(BEFORE), False, exc, checks=checks, interval=5.0, sleep=slept.append
        )

    if expected in (APPLIED, RUNNING):
        assert settle() == expected, why
        assert read.count == len(sleeps) + 1, "it stops looking once state answers"
    else:
        with pytest.raises(AmbiguousOutcomeError) as info:
            settle()
        message = str(info.value)
        assert expected in message, why
        assert "HTTP 502, BadGateway" in message  # which failure, for the log
        assert read.count == max(1, checks)
    assert slept == sleeps, why
