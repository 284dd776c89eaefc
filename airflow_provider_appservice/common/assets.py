"""The Airflow assets deploy and swap emit: one per app slot, through one asset alias."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow.sdk import Asset

#: The asset alias deploys and swaps emit their per-slot asset events through.
APP_SERVICE_ASSET_ALIAS = "azure_app_service"


def app_slot_asset(resource_group: str, app_name: str, slot: str | None) -> Asset:
    """The asset of one app slot: ``azure-app-service://<resource group>/<app>/<slot>`` (lower case).

    Downstream DAGs schedule on it, e.g. ``schedule=[app_slot_asset("rg-shop", "shop", "production")]``.
    """
    uri = f"azure-app-service://{resource_group}/{app_name}/{slot or 'production'}".lower()
    return Asset(uri=uri, name=uri)


def emit_slot_events(
    context: Mapping[str, Any],
    outlets: Iterable[Any] | None,
    logger: Any,
    events: Iterable[tuple[str, str, str | None, dict[str, Any]]],
) -> None:
    """Add an asset event per ``(resource_group, app_name, slot, extra)`` through the alias outlet.

    Nothing is emitted (and a line says why) when the task has no ``AssetAlias`` outlet of that name.
    """
    from airflow.sdk import AssetAlias

    outlet_events = context.get("outlet_events")
    if outlet_events is None or not any(
        isinstance(o, AssetAlias) and o.name == APP_SERVICE_ASSET_ALIAS for o in (outlets or [])
    ):
        logger.info("No AssetAlias(%r) outlet on this task: no asset event emitted", APP_SERVICE_ASSET_ALIAS)
        return
    alias = AssetAlias(APP_SERVICE_ASSET_ALIAS)
    for resource_group, app_name, slot, extra in events:
        outlet_events[alias].add(app_slot_asset(resource_group, app_name, slot), extra=extra)
