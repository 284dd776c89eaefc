"""App settings, connection strings, sticky names and Key Vault references: read, merge, write, verify.

Facts this rests on (``reference/azure-apis.md`` §9, §10):

- ``PUT …/config/appsettings`` (and ``…/config/connectionstrings``) **replaces everything**, so
  every change is read → merge → write, and a key nobody asked to drop is never dropped.
- There is no ``If-Match`` on these PUTs: two writers can lose each other's updates. After a
  write the map is read again and every key this change set or removed is checked; a mismatch
  names the keys (never the values) and says another writer raced.
- Sticky (slot) names live site-wide in ``…/config/slotConfigNames`` (no slot variant); its
  lists are ``null`` before the first PUT.
- Key Vault references are resolved by the **app's** identity, asynchronously: checking them is
  :mod:`.key_vault_references`.

Plain functions over the SDK's ``WebSiteManagementClient``; nothing of Airflow. Values are never
logged: log lines and errors name keys only. ``on_values`` lets the caller register every value
it sees (settings it read included) with a secrets masker the moment it exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify
from airflow_provider_appservice.errors import SettingsRaceError
from airflow_provider_appservice.operations.targets import AppTarget, site_call
from airflow_provider_appservice.transport.arm import ResponseIds

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

APP_SETTINGS = "appsettings"
CONNECTION_STRINGS = "connectionstrings"


def _noop(_values: Iterable[str]) -> None:
    return None


# --- pure decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionString:
    value: str = field(repr=False)
    type: str


@dataclass(frozen=True)
class SettingsChange:
    """What one task asks for. Only names appear in ``repr``."""

    settings: Mapping[str, str] = field(default_factory=dict, repr=False)
    remove: tuple[str, ...] = ()
    connection_strings: Mapping[str, ConnectionString] = field(default_factory=dict, repr=False)
    remove_connection_strings: tuple[str, ...] = ()
    sticky_settings: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """What is contradictory in the request itself (checked before any call)."""
        out = []
        both = sorted(set(self.settings) & set(self.remove))
        if both:
            out.append(f"settings and remove both name {', '.join(both)}")
        both = sorted(set(self.connection_strings) & set(self.remove_connection_strings))
        if both:
            out.append(f"connection_strings and remove_connection_strings both name {', '.join(both)}")
        empty = sorted(k for k in [*self.settings, *self.connection_strings, *self.sticky_settings] if not k.strip())
        if empty:
            out.append("a setting or connection string name is empty")
        return out

    @property
    def touches_settings(self) -> bool:
        return bool(self.settings or self.remove)

    @property
    def touches_connection_strings(self) -> bool:
        return bool(self.connection_strings or self.remove_connection_strings)


def merge(current: Mapping[str, Any], updates: Mapping[str, Any], remove: Collection[str]) -> dict[str, Any]:
    """The full map to PUT: everything that was there, minus ``remove``, with ``updates`` applied."""
    merged = {k: v for k, v in current.items() if k not in remove}
    merged.update(updates)
    return merged


def mismatched(after: Mapping[str, Any], updates: Mapping[str, Any], remove: Collection[str]) -> list[str]:
    """Names whose state after the write is not what this change asked for (sorted)."""
    wrong = {k for k, v in updates.items() if k not in after or after[k] != v}
    wrong |= {k for k in remove if k in after}
    return sorted(wrong)


# --- reads and writes -------------------------------------------------------------------------


def arm_call(what: str, required_action: str, fn: Callable[[], Any]) -> Any:
    from azure.core.exceptions import HttpResponseError

    try:
        return fn()
    except HttpResponseError as exc:
        raise classify(what, exc, required_action=required_action) from None


def read_app_settings(
    client: WebSiteManagementClient, target: AppTarget, on_values: Callable[[Iterable[str]], None] = _noop
) -> dict[str, str]:
    ops = client.web_apps
    result = arm_call(
        f"Listing the app settings of '{target.label}'",
        target.action("config/list/action"),
        lambda: site_call(ops, "list_application_settings", target),
    )
    settings = {str(k): "" if v is None else str(v) for k, v in (result.properties or {}).items()}
    on_values(settings.values())
    return settings


def write_app_settings(
    client: WebSiteManagementClient, target: AppTarget, settings: Mapping[str, str], ids: ResponseIds
) -> None:
    """PUT the whole map (idempotent: the SDK's retry may re-send the same body)."""
    from azure.mgmt.web.models import StringDictionary

    ops = client.web_apps
    body = StringDictionary(properties=dict(settings))
    arm_call(
        f"Writing the app settings of '{target.label}'",
        target.action("config/write"),
        lambda: site_call(ops, "update_application_settings", target, body, cls=ids),
    )


def read_connection_strings(
    client: WebSiteManagementClient, target: AppTarget, on_values: Callable[[Iterable[str]], None] = _noop
) -> dict[str, ConnectionString]:
    ops = client.web_apps
    result = arm_call(
        f"Listing the connection strings of '{target.label}'",
        target.action("config/list/action"),
        lambda: site_call(ops, "list_connection_strings", target),
    )
    out = {
        str(name): ConnectionString("" if pair.value is None else str(pair.value), enum_text(pair.type, "Custom"))
        for name, pair in (result.properties or {}).items()
    }
    on_values(c.value for c in out.values())
    return out


def enum_text(value: Any, default: str) -> str:
    """An SDK enum member's wire value (``str()`` of a ``str`` enum gives ``Class.MEMBER``)."""
    if value is None:
        return default
    return str(getattr(value, "value", value))


def write_connection_strings(
    client: WebSiteManagementClient, target: AppTarget, strings: Mapping[str, ConnectionString], ids: ResponseIds
) -> None:
    from azure.mgmt.web.models import ConnectionStringDictionary, ConnStringValueTypePair

    ops = client.web_apps
    body = ConnectionStringDictionary(
        properties={n: ConnStringValueTypePair(value=c.value, type=c.type) for n, c in strings.items()}
    )
    arm_call(
        f"Writing the connection strings of '{target.label}'",
        target.action("config/write"),
        lambda: site_call(ops, "update_connection_strings", target, body, cls=ids),
    )


STICKY_LISTS = ("app_setting_names", "connection_string_names", "azure_storage_config_names")


def read_sticky_names(client: WebSiteManagementClient, target: AppTarget) -> dict[str, list[str]]:
    """The site-wide sticky names (``null`` lists read as ``[]``); a slot target reads its site's."""
    result = arm_call(
        f"Reading the slot setting names of '{target.app_name}'",
        "Microsoft.Web/sites/config/read",
        lambda: client.web_apps.list_slot_configuration_names(target.resource_group, target.app_name),
    )
    return {key: list(getattr(result, key, None) or []) for key in STICKY_LISTS}


def write_sticky_names(
    client: WebSiteManagementClient, target: AppTarget, names: Mapping[str, list[str]], ids: ResponseIds
) -> None:
    from azure.mgmt.web.models import SlotConfigNames, SlotConfigNamesResource

    body = SlotConfigNamesResource(
        properties=SlotConfigNames(
            app_setting_names=list(names.get("app_setting_names") or []),
            connection_string_names=list(names.get("connection_string_names") or []),
            azure_storage_config_names=list(names.get("azure_storage_config_names") or []),
        )
    )
    arm_call(
        f"Writing the slot setting names of '{target.app_name}'",
        "Microsoft.Web/sites/config/write",
        lambda: client.web_apps.update_slot_configuration_names(target.resource_group, target.app_name, body, cls=ids),
    )


# --- the whole operation ----------------------------------------------------------------------


@dataclass
class SettingsResult:
    """What was done, by name only (this goes to XCom)."""

    set: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    connection_strings_set: list[str] = field(default_factory=list)
    connection_strings_removed: list[str] = field(default_factory=list)
    sticky: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)  # which maps were PUT
    request_ids: list[str] = field(default_factory=list)
    correlation_id: str | None = None

    def record(self, what: str, ids: ResponseIds) -> None:
        self.writes.append(what)
        if ids.request_id:
            self.request_ids.append(ids.request_id)
        self.correlation_id = self.correlation_id or ids.correlation_id


def apply_settings_change(
    client: WebSiteManagementClient,
    target: AppTarget,
    change: SettingsChange,
    *,
    on_values: Callable[[Iterable[str]], None] = _noop,
    logger: logging.Logger | Any = log,
    result: SettingsResult | None = None,
) -> SettingsResult:
    """Read, merge, write (only what changed), then re-read and verify every key this change names.

    Raises :class:`SettingsRaceError` naming the keys when the re-read does not show the change.
    ``result`` (filled as it goes) lets a caller audit what was written even when this raises.
    """
    problems = change.problems()
    if problems:
        raise ValueError("; ".join(problems))
    result = result if result is not None else SettingsResult()
    on_values(change.settings.values())
    on_values(c.value for c in change.connection_strings.values())

    if change.touches_settings:
        _apply_app_settings(client, target, change, result, on_values, logger)
    if change.touches_connection_strings:
        _apply_connection_strings(client, target, change, result, on_values, logger)
    if change.sticky_settings:
        _apply_sticky_names(client, target, change, result, logger)
    _verify(client, target, change, result, on_values, logger)
    return result


def _apply_app_settings(
    client: WebSiteManagementClient,
    target: AppTarget,
    change: SettingsChange,
    result: SettingsResult,
    on_values: Callable[[Iterable[str]], None],
    logger: logging.Logger | Any,
) -> None:
    """Read, merge and (only if something changed) write the app settings."""
    current = read_app_settings(client, target, on_values)
    absent = sorted(k for k in change.remove if k not in current)
    if absent:
        logger.info("Not present on %s, nothing to remove: %s", target.label, ", ".join(absent))
    merged = merge(current, change.settings, change.remove)
    result.set = sorted(change.settings)
    result.removed = sorted(k for k in change.remove if k in current)
    if merged != current:
        ids = ResponseIds()
        write_app_settings(client, target, merged, ids)
        result.record(APP_SETTINGS, ids)
        changed = sorted(k for k in change.settings if current.get(k) != change.settings[k])
        logger.info(
            "Wrote the app settings of %s: set %s; removed %s; %d other setting(s) kept",
            target.label,
            ", ".join(changed) or "nothing new",
            ", ".join(result.removed) or "nothing",
            len([k for k in merged if k not in change.settings]),
        )
    else:
        logger.info("The app settings of %s already match (%s); not written", target.label, ", ".join(result.set))


def _apply_connection_strings(
    client: WebSiteManagementClient,
    target: AppTarget,
    change: SettingsChange,
    result: SettingsResult,
    on_values: Callable[[Iterable[str]], None],
    logger: logging.Logger | Any,
) -> None:
    """Read, merge and (only if something changed) write the connection strings."""
    current_cs = read_connection_strings(client, target, on_values)
    merged_cs = merge(current_cs, change.connection_strings, change.remove_connection_strings)
    result.connection_strings_set = sorted(change.connection_strings)
    result.connection_strings_removed = sorted(k for k in change.remove_connection_strings if k in current_cs)
    if _cs_differ(merged_cs, current_cs):
        ids = ResponseIds()
        write_connection_strings(client, target, merged_cs, ids)
        result.record(CONNECTION_STRINGS, ids)
        logger.info(
            "Wrote the connection strings of %s: set %s; removed %s",
            target.label,
            ", ".join(result.connection_strings_set) or "nothing",
            ", ".join(result.connection_strings_removed) or "nothing",
        )
    else:
        logger.info("The connection strings of %s already match; not written", target.label)


def _apply_sticky_names(
    client: WebSiteManagementClient,
    target: AppTarget,
    change: SettingsChange,
    result: SettingsResult,
    logger: logging.Logger | Any,
) -> None:
    """Add the sticky names that are missing (site-wide: every slot of the app)."""
    names = read_sticky_names(client, target)
    missing = [n for n in dict.fromkeys(change.sticky_settings) if n not in names["app_setting_names"]]
    result.sticky = sorted(set(change.sticky_settings))
    if missing:
        names["app_setting_names"] = [*names["app_setting_names"], *missing]
        ids = ResponseIds()
        write_sticky_names(client, target, names, ids)
        result.record("slotConfigNames", ids)
        logger.info("Made slot-sticky on every slot of %s: %s", target.app_name, ", ".join(sorted(missing)))
    else:
        logger.info("Already slot-sticky on %s: %s", target.app_name, ", ".join(result.sticky))


def _cs_differ(a: Mapping[str, ConnectionString], b: Mapping[str, ConnectionString]) -> bool:
    if a.keys() != b.keys():
        return True
    return any(a[k].value != b[k].value or a[k].type.lower() != b[k].type.lower() for k in a)


def _verify(
    client: WebSiteManagementClient,
    target: AppTarget,
    change: SettingsChange,
    result: SettingsResult,
    on_values: Callable[[Iterable[str]], None],
    logger: logging.Logger | Any,
) -> None:
    """Re-read what was written; lost updates (no If-Match on these PUTs) surface here."""
    lost: list[str] = []
    if APP_SETTINGS in result.writes:
        after = read_app_settings(client, target, on_values)
        lost += mismatched(after, change.settings, change.remove)
    if CONNECTION_STRINGS in result.writes:
        after_cs = read_connection_strings(client, target, on_values)
        wrong = {
            k
            for k, c in change.connection_strings.items()
            if k not in after_cs or after_cs[k].value != c.value or after_cs[k].type.lower() != c.type.lower()
        }
        wrong |= {k for k in change.remove_connection_strings if k in after_cs}
        lost += [f"connection string {k}" for k in sorted(wrong)]
    if "slotConfigNames" in result.writes:
        sticky_after = read_sticky_names(client, target)["app_setting_names"]
        lost += [f"sticky name {n}" for n in result.sticky if n not in sticky_after]
    if lost:
        raise SettingsRaceError(
            f"After writing the settings of '{target.label}', reading them back did not show this task's "
            f"change for: {', '.join(lost)}. Another writer changed the app's settings at the same time "
            "(App Service has no optimistic concurrency for settings, so the later write replaced the "
            "earlier one). Run settings writers for an app in a one-slot Airflow pool, then clear this task."
        )
    if result.writes:
        logger.info("Read back the settings of %s: every change is in place", target.label)
