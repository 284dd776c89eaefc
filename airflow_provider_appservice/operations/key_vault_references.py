"""Key Vault references in app settings and connection strings: what the platform reports of
each, and waiting until none is pending (a sans-I/O :class:`ReferenceWait` with sync and async
drivers).

References are resolved by the **app's** identity, asynchronously; the platform reports each
one's status (``Initialized`` until it has tried). Names and statuses only: never a value.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify
from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import AppServiceError, KeyVaultReferenceTimeout
from airflow_provider_appservice.operations.settings import APP_SETTINGS, CONNECTION_STRINGS, arm_call, enum_text
from airflow_provider_appservice.operations.targets import AppTarget
from airflow_provider_appservice.operations.waits import PollingWait, WaitOutcome, adrive, drive
from airflow_provider_appservice.transport.backoff import PollSchedule

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

RESOLVED = "Resolved"
# Key Vault reference statuses (ApiKVReference.status) and what to do about each.
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


def is_key_vault_reference(value: object) -> bool:
    """``@Microsoft.KeyVault(...)``, as App Service recognises it (case-insensitive, trimmed)."""
    return isinstance(value, str) and value.strip().lower().startswith("@microsoft.keyvault(")


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
    items = arm_call(
        f"Reading the Key Vault reference status of the {what} of '{target.label}'",
        target.action("config/read"),
        lambda: list(pages()),
    )
    return {
        _reference_name(item): ReferenceStatus(
            enum_text(getattr(item, "status", None), INITIALIZED), str(getattr(item, "details", None) or "")
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
            enum_text(getattr(item, "status", None), INITIALIZED), str(getattr(item, "details", None) or "")
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
