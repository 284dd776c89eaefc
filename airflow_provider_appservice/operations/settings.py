"""App settings, connection strings, sticky names and Key Vault references: read, merge, write, verify.

Facts this rests on (``reference/azure-apis.md`` §9, §10):

- ``PUT …/config/appsettings`` (and ``…/config/connectionstrings``) **replaces everything**, so
  every change is read → merge → write, and a key nobody asked to drop is never dropped.
- There is no ``If-Match`` on these PUTs: two writers can lose each other's updates. After a
  write the map is read again and every key this change set or removed is checked; a mismatch
  names the keys (never the values) and says another writer raced.
- Sticky (slot) names live site-wide in ``…/config/slotConfigNames`` (no slot variant); its
  lists are ``null`` before the first PUT.
- Key Vault references are resolved by the **app's** identity, asynchronously; the platform
  reports each one's status (``Initialized`` until it has tried).

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
from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import AppServiceError, KeyVaultReferenceTimeout, SettingsRaceError
from airflow_provider_appservice.operations.targets import AppTarget, site_call
from airflow_provider_appservice.operations.waits import PollingWait, WaitOutcome, adrive, drive
from airflow_provider_appservice.transport.arm import ResponseIds
from airflow_provider_appservice.transport.backoff import PollSchedule

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

APP_SETTINGS = "appsettings"
CONNECTION_STRINGS = "connectionstrings"

# Key Vault reference statuses (ApiKVReference.status) and what to do about each.
RESOLVED = "Resolved"
INITIALIZED = "Initialized"
# Still waiting for the platform: poll again within the bound.
PENDING_STATUSES = frozenset({INITIALIZED, "FetchTimedOut"})
KEY_VAULT_HINTS: dict[str, str] = {
    "Initialized": "the platform has not resolved it yet; raise key_vault_reference_timeout or check again later",
    "InvalidSyntax": (
        "fix the reference: @Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>[/<version>]) "
        "or @Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>])"
    ),
    "MSINotEnabled": (
        "enable a managed identity on the app (system-assigned, or a user-assigned one set as the "
        "app's keyVaultReferenceIdentity)"
    ),
    "VaultNotFound": "check the vault name, and that the app can reach the vault (firewall, private endpoint, DNS)",
    "SecretNotFound": "create the secret in the vault or fix its name",
    "SecretVersionNotFound": "use an existing version, or omit the version to follow the latest",
    "AccessToKeyVaultDenied": (
        "grant the app's identity 'Key Vault Secrets User' on the vault (or a 'get' secret access policy), "
        "and allow the app through the vault's firewall"
    ),
    "OtherReasons": "see the details; a disabled or expired secret is the usual cause",
    "FetchTimedOut": "the platform timed out fetching the secret; check the vault's network rules, then retry",
}
KEY_VAULT_REFERENCE_STATUSES = (*KEY_VAULT_HINTS, RESOLVED)


def _noop(_values: Iterable[str]) -> None:
    return None


def is_key_vault_reference(value: object) -> bool:
    """``@Microsoft.KeyVault(...)``, as App Service recognises it (case-insensitive, trimmed)."""
    return isinstance(value, str) and value.strip().lower().startswith("@microsoft.keyvault(")


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


def _call(what: str, required_action: str, fn: Callable[[], Any]) -> Any:
    from azure.core.exceptions import HttpResponseError

    try:
        return fn()
    except HttpResponseError as exc:
        raise classify(what, exc, required_action=required_action) from None


def read_app_settings(
    client: WebSiteManagementClient, target: AppTarget, on_values: Callable[[Iterable[str]], None] = _noop
) -> dict[str, str]:
    ops = client.web_apps
    result = _call(
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
    _call(
        f"Writing the app settings of '{target.label}'",
        target.action("config/write"),
        lambda: site_call(ops, "update_application_settings", target, body, cls=ids),
    )


def read_connection_strings(
    client: WebSiteManagementClient, target: AppTarget, on_values: Callable[[Iterable[str]], None] = _noop
) -> dict[str, ConnectionString]:
    ops = client.web_apps
    result = _call(
        f"Listing the connection strings of '{target.label}'",
        target.action("config/list/action"),
        lambda: site_call(ops, "list_connection_strings", target),
    )
    out = {
        str(name): ConnectionString("" if pair.value is None else str(pair.value), _enum_text(pair.type, "Custom"))
        for name, pair in (result.properties or {}).items()
    }
    on_values(c.value for c in out.values())
    return out


def _enum_text(value: Any, default: str) -> str:
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
    _call(
        f"Writing the connection strings of '{target.label}'",
        target.action("config/write"),
        lambda: site_call(ops, "update_connection_strings", target, body, cls=ids),
    )


STICKY_LISTS = ("app_setting_names", "connection_string_names", "azure_storage_config_names")


def read_sticky_names(client: WebSiteManagementClient, target: AppTarget) -> dict[str, list[str]]:
    """The site-wide sticky names (``null`` lists read as ``[]``); a slot target reads its site's."""
    result = _call(
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
    _call(
        f"Writing the slot setting names of '{target.app_name}'",
        "Microsoft.Web/sites/config/write",
        lambda: client.web_apps.update_slot_configuration_names(target.resource_group, target.app_name, body, cls=ids),
    )


@dataclass(frozen=True)
class ReferenceStatus:
    status: str
    details: str = ""

    @property
    def pending(self) -> bool:
        return self.status in PENDING_STATUSES

    @property
    def resolved(self) -> bool:
        return self.status == RESOLVED


def _reference_name(item: Any) -> str:
    name = str(getattr(item, "name", None) or getattr(item, "id", None) or "")
    return name.rsplit("/", 1)[-1]


def read_key_vault_references(
    client: WebSiteManagementClient, target: AppTarget, area: str = APP_SETTINGS
) -> dict[str, ReferenceStatus]:
    """The platform's status of every Key Vault reference in ``area``, by setting name."""
    ops = client.web_apps
    rg, app, slot = target.resource_group, target.app_name, target.slot
    if area == APP_SETTINGS:
        pages = (
            (lambda: ops.get_app_settings_key_vault_references_slot(rg, app, slot))
            if slot
            else (lambda: ops.get_app_settings_key_vault_references(rg, app))
        )
    else:
        pages = (
            (lambda: ops.get_site_connection_string_key_vault_references_slot(rg, app, slot))
            if slot
            else (lambda: ops.get_site_connection_string_key_vault_references(rg, app))
        )
    what = "app settings" if area == APP_SETTINGS else "connection strings"
    items = _call(
        f"Reading the Key Vault reference status of the {what} of '{target.label}'",
        target.action("config/read"),
        lambda: list(pages()),
    )
    return {
        _reference_name(item): ReferenceStatus(
            _enum_text(getattr(item, "status", None), INITIALIZED), str(getattr(item, "details", None) or "")
        )
        for item in items
    }


async def aread_key_vault_references(
    client: Any, target: AppTarget, area: str = APP_SETTINGS
) -> dict[str, ReferenceStatus]:
    """Async twin of :func:`read_key_vault_references` (``client`` is the aio ARM client)."""
    from azure.core.exceptions import HttpResponseError

    ops = client.web_apps
    rg, app, slot = target.resource_group, target.app_name, target.slot
    if area == APP_SETTINGS:
        pages = (
            ops.get_app_settings_key_vault_references_slot(rg, app, slot)
            if slot
            else ops.get_app_settings_key_vault_references(rg, app)
        )
    else:
        pages = (
            ops.get_site_connection_string_key_vault_references_slot(rg, app, slot)
            if slot
            else ops.get_site_connection_string_key_vault_references(rg, app)
        )
    what = "app settings" if area == APP_SETTINGS else "connection strings"
    try:
        items = [item async for item in pages]
    except HttpResponseError as exc:
        raise classify(
            f"Reading the Key Vault reference status of the {what} of '{target.label}'",
            exc,
            required_action=target.action("config/read"),
        ) from None
    return {
        _reference_name(item): ReferenceStatus(
            _enum_text(getattr(item, "status", None), INITIALIZED), str(getattr(item, "details", None) or "")
        )
        for item in items
    }


AREA_LABELS = {APP_SETTINGS: "", CONNECTION_STRINGS: "connection string "}


class ReferenceWait(PollingWait):
    """Until no watched Key Vault reference is pending, then: resolved, or failed naming each (no I/O).

    ``watch`` maps an area (:data:`APP_SETTINGS`, :data:`CONNECTION_STRINGS`) to the names to
    watch there (``None``: every reference the platform lists). Feed each look's statuses with
    :meth:`on_statuses`; a name the platform does not list yet counts as ``Initialized``. At the
    deadline, references that are only still pending end as a timeout (a later retry may pass);
    one that the platform refused ends as a failure (a retry cannot fix it).
    """

    def __init__(
        self,
        label: str,
        watch: Mapping[str, Collection[str] | None],
        *,
        deadline: float,
        timeout: float,
        interval: float | None = None,
        schedule: PollSchedule | None = None,
    ) -> None:
        super().__init__(deadline=deadline, timeout=timeout, interval=interval, schedule=schedule)
        self.label = label
        self.watch = {area: (None if names is None else list(names)) for area, names in watch.items()}
        self.statuses: dict[str, dict[str, ReferenceStatus]] = {area: {} for area in self.watch}

    @property
    def areas(self) -> list[str]:
        return list(self.watch)

    def pending(self) -> list[str]:
        return sorted(
            f"{AREA_LABELS.get(area, '')}{name} ({s.status})"
            for area, statuses in self.statuses.items()
            for name, s in statuses.items()
            if s.pending
        )

    def on_statuses(self, reported: Mapping[str, Mapping[str, ReferenceStatus]]) -> str | None:
        """One look: the platform's statuses per area. Returns a log line while references are pending."""
        self.counted()
        for area, names in self.watch.items():
            current = reported.get(area, {})
            by_lower = {k.lower(): v for k, v in current.items()}
            wanted = list(current) if names is None else names
            self.statuses[area] = {n: by_lower.get(n.lower(), ReferenceStatus(INITIALIZED)) for n in wanted}
        pending = self.pending()
        if pending:
            return f"Key Vault references of {self.label} not resolved yet: {', '.join(pending)}"
        self.outcome = self._verdict(timed_out=False)
        return None

    def deadline_outcome(self) -> WaitOutcome:
        return self._verdict(timed_out=True)

    def failed(self) -> dict[str, ReferenceStatus]:
        """Every reference that did not resolve, by its display name."""
        return {
            f"{AREA_LABELS.get(area, '')}{name}": s
            for area, statuses in self.statuses.items()
            for name, s in statuses.items()
            if not s.resolved
        }

    def _verdict(self, *, timed_out: bool) -> WaitOutcome:
        failed = self.failed()
        if not failed:
            resolved = sum(len(s) for s in self.statuses.values())
            return WaitOutcome(True, f"{resolved} Key Vault reference(s) of {self.label} resolved")
        text = describe_reference_failures(failed)
        if all(s.pending for s in failed.values()):
            return WaitOutcome(
                False,
                f"Key Vault references of '{self.label}' did not resolve within {self.timeout:g}s (the settings "
                f"were written; they resolve with the app's own identity):\n{text}",
                timed_out=True,
            )
        return WaitOutcome(
            False,
            f"Key Vault references of '{self.label}' do not resolve with the app's identity (the settings were "
            f"written; the app sees these as unresolved, not as the secret):\n{text}",
        )

    def to_event(self) -> dict[str, dict[str, list[str]]]:
        """The statuses as JSON (names, statuses, Azure's details: no value)."""
        return {
            area: {name: [s.status, s.details] for name, s in statuses.items()}
            for area, statuses in self.statuses.items()
        }


def references_from_event(value: Any) -> dict[str, dict[str, ReferenceStatus]]:
    """:meth:`ReferenceWait.to_event` read back, checked (an event is untrusted data)."""
    if not isinstance(value, Mapping):
        raise AppServiceError("The Key Vault reference trigger sent no statuses")
    out: dict[str, dict[str, ReferenceStatus]] = {}
    for area, statuses in value.items():
        if area not in AREA_LABELS or not isinstance(statuses, Mapping):
            raise AppServiceError(f"The Key Vault reference trigger sent statuses of an unknown area {area!r}")
        out[area] = {}
        for name, pair in statuses.items():
            if not (
                isinstance(name, str)
                and isinstance(pair, list | tuple)
                and len(pair) == 2
                and all(isinstance(p, str) for p in pair)
            ):
                raise AppServiceError("The Key Vault reference trigger sent a malformed status")
            out[area][name] = ReferenceStatus(pair[0], pair[1])
    return out


def raise_for_references(outcome: WaitOutcome) -> None:
    """The error a task fails with when its references did not all resolve."""
    from airflow_provider_appservice.errors import KeyVaultReferenceError

    if outcome.succeeded:
        return
    if outcome.timed_out:
        raise KeyVaultReferenceTimeout(outcome.message)
    raise KeyVaultReferenceError(outcome.message)


def watch_references(
    client: WebSiteManagementClient,
    target: AppTarget,
    wait: ReferenceWait,
    *,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> WaitOutcome:
    """Sync driver: read the platform's status of every watched area until the wait decides."""

    def look() -> None:
        line = wait.on_statuses({area: read_key_vault_references(client, target, area) for area in wait.areas})
        if line:
            logger.info("%s", line)

    return drive(wait, look, clock)


async def awatch_references(
    client: Any,
    target: AppTarget,
    wait: ReferenceWait,
    *,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> WaitOutcome:
    """Async driver (the trigger's), on the aio ARM client: the same decisions."""

    async def look() -> None:
        reported = {area: await aread_key_vault_references(client, target, area) for area in wait.areas}
        line = wait.on_statuses(reported)
        if line:
            logger.info("%s", line)

    return await adrive(wait, look, clock)


def wait_for_key_vault_references(
    client: WebSiteManagementClient,
    target: AppTarget,
    names: Collection[str] | None,
    *,
    timeout: float,
    schedule: PollSchedule,
    area: str = APP_SETTINGS,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> dict[str, ReferenceStatus]:
    """Poll until no reference in ``names`` (``None``: every reference) is pending, or ``timeout``.

    Returns the last status of each; a name the platform does not list yet counts as
    ``Initialized``. Never raises for a status: the caller decides what fails.
    """
    clock = clock or default_clock()
    wait = ReferenceWait(
        target.label, {area: names}, deadline=clock.now() + timeout, timeout=timeout, schedule=schedule
    )
    watch_references(client, target, wait, clock=clock, logger=logger)
    return wait.statuses[area]


def describe_reference_failures(statuses: Mapping[str, ReferenceStatus], label: str = "") -> str:
    """One line per reference that did not resolve: name, status, hint (and Azure's details)."""
    lines = []
    for name in sorted(statuses):
        s = statuses[name]
        if s.resolved:
            continue
        hint = KEY_VAULT_HINTS.get(s.status, "an unknown status; see the app's Key Vault references in the portal")
        line = f"{label}{name}: {s.status} — {hint}"
        if s.details:
            line += f" (Azure: {s.details})"
        lines.append(line)
    return "\n".join(lines)


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

    if change.touches_connection_strings:
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

    if change.sticky_settings:
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

    _verify(client, target, change, result, on_values, logger)
    return result


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
