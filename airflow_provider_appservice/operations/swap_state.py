"""What a swap sees of its slots, and where a swap stands, decided without I/O.

:class:`SwapPair` names which slot goes where; :class:`SlotView` is what ARM shows of one slot
that matters to a swap (``slotSwapStatus``, ``targetSwapSlot``, the plan tier).
:func:`swap_progress` judges from the source slot whether a swap of the pair is running, applied
or not applied: the sync worker, the async trigger and the check after an ambiguous failure all
ask it the same question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify
from airflow_provider_appservice.errors import PermanentAzureError
from airflow_provider_appservice.operations.sites import SiteInfo, site_info
from airflow_provider_appservice.operations.targets import PRODUCTION, AppTarget

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

# Plan tiers (``Site.sku``) without deployment slots.
NO_SLOT_TIERS = frozenset({"free", "shared", "basic", "dynamic", "flexconsumption"})

RUNNING, APPLIED, NOT_APPLIED = "running", "applied", "not-applied"


def slot_label(slot: str | None) -> str:
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
        return slot_label(self.source_slot)

    @property
    def target_label(self) -> str:
        return slot_label(self.target_slot)

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


def read_action(slot: str | None) -> str:
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
        raise classify(f"Reading app '{app_name}/{slot_label(slot)}'", exc, required_action=read_action(slot)) from None
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
        raise classify(f"Reading app '{app_name}/{slot_label(slot)}'", exc, required_action=read_action(slot)) from None
    return slot_view(site, slot)


def precheck_slots(client: WebSiteManagementClient, pair: SwapPair) -> SlotView:
    """The plan supports slots and both slots exist; returns the source as ARM shows it now."""
    production = read_slot(client, pair.resource_group, pair.app_name, None)
    check_slots_supported(production, pair.app_name)
    source = (
        production
        if pair.source_slot is None
        else read_slot(client, pair.resource_group, pair.app_name, pair.source_slot)
    )
    if pair.target_slot is not None:
        read_slot(client, pair.resource_group, pair.app_name, pair.target_slot)
    return source


# -- decisions without I/O ----------------------------------------------------------------------


def same_slot(a: str | None, b: str | None) -> bool:
    """Slot names as ARM writes them (``Production``, ``staging``) against ours."""
    return slot_label((a or "").strip().lower() or None) == slot_label((b or "").strip().lower() or None)


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
