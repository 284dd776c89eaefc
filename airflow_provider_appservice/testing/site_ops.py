"""What ARM write operations do to sites and slots, without HTTP: restarts, slot swaps (with
preview), sticky settings, Key Vault reference resolution by the app's own identity, and the
scriptable container runtime. The ``arm_lifecycle``, ``arm_swap``, ``arm_settings`` and
``arm_config`` routes and the emulator's accessors call these functions; everything runs under
``world.lock``.

Per-emulator knobs and running operations live in an :class:`Ops` record kept beside the
``World`` (see :func:`ops_of`), so ``state.World`` stays as it is.

Progress model (no real time needed): a swap takes ``swap_duration_polls`` *observations* —
every ARM GET that names the app (a poll of the swap's ``Location``, a GET of the site or of a
slot) is one — and/or ``swap_duration_seconds`` on the emulator clock (``emu.advance``). A Key
Vault reference answers ``Initialized`` to its first ``kv_reference_resolution_polls`` reads.

Swap semantics (Microsoft docs "Set up staging environments", not verified against traffic):
the two slots exchange their build, their site config except the per-slot keys in
:data:`STICKY_CONFIG`, and their app settings and connection strings except the sticky names
(``slotConfigNames``, site-wide) and app settings ending in ``_EXTENSION_VERSION``; state,
identities and host names stay with the slot.
"""

from __future__ import annotations

import re
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_appservice.testing.catalog import NO_SLOTS, plan_tier
from airflow_provider_appservice.testing.clouds import get_cloud
from airflow_provider_appservice.testing.model import Principal, Site
from airflow_provider_appservice.testing.state import World

GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"

# Site config keys that stay with the slot on a swap (docs: "settings that aren't swapped").
STICKY_CONFIG = frozenset(
    {
        "alwaysOn",
        "ipSecurityRestrictions",
        "ipSecurityRestrictionsDefaultAction",
        "scmIpSecurityRestrictions",
        "scmIpSecurityRestrictionsDefaultAction",
        "scmIpSecurityRestrictionsUseMain",
        "cors",
        "vnetName",
        "vnetRouteAllEnabled",
        "vnetPrivatePortsCount",
        "httpLoggingEnabled",
        "detailedErrorLoggingEnabled",
        "requestTracingEnabled",
        "logsDirectorySizeLimit",
        "numberOfWorkers",
        "minTlsVersion",
        "scmMinTlsVersion",
        "ftpsState",
        "publishingUsername",
    }
)
RUNTIME_BEHAVIOURS = ("healthy", "crashloop")
CONNECTION_STRING_TYPES = (
    "MySql",
    "SQLServer",
    "SQLAzure",
    "Custom",
    "NotificationHub",
    "ServiceBus",
    "EventHub",
    "ApiHub",
    "DocDb",
    "RedisCache",
    "PostgreSQL",
)


class OpError(Exception):
    """A refusal a route turns into a Microsoft.Web (PascalCase) error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Restart:
    soft: bool | None
    synchronous: bool | None
    time: float


@dataclass(eq=False)
class Preview:
    """A pending swap with preview: ``source`` runs with ``target``'s sticky settings."""

    source: Site
    target: Site
    app_settings: dict[str, str]  # the source's own settings before phase 1
    connection_strings: dict[str, Any]
    since: float


@dataclass(eq=False)
class SwapOperation:
    op_id: str
    production: Site
    source: Site
    target: Site
    started: float
    polls: int | None
    seconds: float | None
    preview: Preview | None = None
    ticks: int = 0
    done: bool = False


@dataclass
class KvRead:
    reference: str
    reads: int
    since: float


@dataclass
class Ops:
    """Knobs (see the emulator's properties) and what is under way, per emulator."""

    swap_duration_polls: int | None = 2
    swap_duration_seconds: float | None = None
    lro_retry_after: int | None = 15
    lro_retry_after_ms: int | None = None
    kv_reference_resolution_polls: int | None = 1
    kv_reference_resolution_seconds: float | None = None
    operations: dict[str, SwapOperation] = field(default_factory=dict)
    running: dict[Site, SwapOperation] = field(default_factory=dict)  # production site -> op
    previews: dict[Site, Preview] = field(default_factory=dict)  # production site -> preview
    restarts: dict[Site, list[Restart]] = field(default_factory=dict)
    kv_reads: dict[tuple[Site, str, str], KvRead] = field(default_factory=dict)
    image_behaviours: dict[str, str] = field(default_factory=dict)
    site_behaviours: dict[Site, str] = field(default_factory=dict)


_KNOBS = (
    "swap_duration_polls",
    "swap_duration_seconds",
    "lro_retry_after",
    "lro_retry_after_ms",
    "kv_reference_resolution_polls",
    "kv_reference_resolution_seconds",
)
_OPS: weakref.WeakKeyDictionary[World, Ops] = weakref.WeakKeyDictionary()


def ops_of(world: World) -> Ops:
    with world.lock:
        ops = _OPS.get(world)
        if ops is None:
            ops = _OPS[world] = Ops()
        return ops


def reset_knobs(world: World) -> None:
    """Back to the default profile (operations and seeded state stay)."""
    ops, defaults = ops_of(world), Ops()
    with world.lock:
        for name in _KNOBS:
            setattr(ops, name, getattr(defaults, name))
        ops.image_behaviours.clear()


def _ready(count: int, polls: int | None, since: float, seconds: float | None, now: float) -> bool:
    """Done after ``polls`` in-progress answers and/or ``seconds`` (whichever is configured first)."""
    if polls is None and seconds is None:
        return True
    return (polls is not None and count > polls) or (seconds is not None and now - since >= seconds)


def production_of(site: Site) -> Site:
    return site.parent if site.parent is not None else site


def slot_label(site: Site) -> str:
    """How slotSwapStatus names a slot (``Production`` as recorded, else the slot name)."""
    return site.slot if site.slot else "Production"


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- restart / start / stop ------------------------------------------------------------------------
def restart(world: World, site: Site, soft: bool | None, synchronous: bool | None) -> None:
    """A restart keeps the admin state (a stopped app stays stopped; UNVERIFIED) and is counted."""
    with world.lock:
        ops_of(world).restarts.setdefault(site, []).append(Restart(soft, synchronous, world.now()))


def set_state(world: World, site: Site, state: str) -> None:
    with world.lock:
        site.state = state


def restarts(world: World, site: Site) -> list[Restart]:
    with world.lock:
        return list(ops_of(world).restarts.get(site, []))


# -- sticky names ------------------------------------------------------------------------------------
def sticky_names(site: Site) -> tuple[set[str], set[str]]:
    names = production_of(site).slot_config_names
    return set(names.get("appSettingNames") or []), set(names.get("connectionStringNames") or [])


def _is_sticky_setting(name: str, sticky: set[str]) -> bool:
    return name in sticky or name.upper().endswith("_EXTENSION_VERSION")


# -- swaps ------------------------------------------------------------------------------------------
def check_slots_supported(site: Site) -> None:
    prod = production_of(site)
    tier = plan_tier(prod.plan_sku)
    if tier in NO_SLOTS:
        raise OpError(
            400,
            "BadRequest",
            f"The site '{prod.name}' is on the {prod.plan_sku} ({tier}) plan, which does not support "
            "deployment slots. Scale the App Service plan up to a Standard or higher tier to use slots.",
        )


def resolve_target(site: Site, target_slot: Any) -> Site:
    """The slot a request's ``targetSlot`` names (``production`` is the site itself)."""
    prod = production_of(site)
    if not isinstance(target_slot, str) or not target_slot.strip():
        raise OpError(400, "BadRequest", "The parameter targetSlot has an invalid value.")
    name = target_slot.strip().lower()
    target = prod if name == "production" else prod.slots.get(name)
    if target is None:
        raise OpError(
            404,
            "NotFound",
            f"The Resource 'Microsoft.Web/sites/{prod.name}/slots/{target_slot}' under resource group "
            f"'{prod.resource_group}' was not found.",
        )
    if target is site:
        raise OpError(400, "BadRequest", f"Cannot swap slot '{slot_label(site)}' with itself.")
    return target


def _conflict(prod: Site) -> OpError:
    # Message UNVERIFIED word for word.
    return OpError(
        409,
        "Conflict",
        f"There is a swap operation in progress for site '{prod.name}'. Please wait until it completes "
        "before starting another operation on its slots.",
    )


def _same_pair(a: tuple[Site, Site], b: tuple[Site, Site]) -> bool:
    return set(a) == set(b)


def start_swap(world: World, source: Site, target: Site) -> SwapOperation:
    """Begin a swap (or complete a pending preview of the same pair)."""
    prod = production_of(source)
    ops = ops_of(world)
    with world.lock:
        settle(world, prod)
        if prod in ops.running:
            raise _conflict(prod)
        preview = ops.previews.get(prod)
        if preview is not None and not _same_pair((preview.source, preview.target), (source, target)):
            raise OpError(
                409,
                "Conflict",
                f"A swap with preview from '{slot_label(preview.source)}' to '{slot_label(preview.target)}' "
                f"is pending for site '{prod.name}'. Complete or reset it first.",
            )
        now = world.now()
        if preview is not None:
            del ops.previews[prod]
            source, target = preview.source, preview.target  # completing keeps the preview's direction
        op = SwapOperation(
            str(uuid.uuid4()),
            prod,
            source,
            target,
            now,
            ops.swap_duration_polls,
            ops.swap_duration_seconds,
            preview=preview,
        )
        ops.operations[op.op_id] = op
        ops.running[prod] = op
        status = {
            "timestampUtc": _utc(now),
            "sourceSlotName": slot_label(source),
            "destinationSlotName": slot_label(target),
        }
        source.slot_swap_status = dict(status)
        target.slot_swap_status = dict(status)
        source.target_swap_slot = slot_label(target)
        settle(world, prod)
        return op


def settle(world: World, site: Site, tick: bool = False) -> None:
    """Let the app's running swap progress: ``tick`` counts one observation; the clock also counts."""
    prod = production_of(site)
    ops = ops_of(world)
    with world.lock:
        op = ops.running.get(prod)
        if op is None:
            return
        if tick:
            op.ticks += 1
        if _ready(op.ticks, op.polls, op.started, op.seconds, world.now()):
            _complete(world, op)


def finish(world: World, site: Site | None = None) -> None:
    """Complete running swaps now (of ``site``'s app, or all)."""
    ops = ops_of(world)
    with world.lock:
        for prod, op in list(ops.running.items()):
            if site is None or prod is production_of(site):
                _complete(world, op)


def _exchange(
    src: dict[str, Any], dst: dict[str, Any], sticky: set[str], is_sticky: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    new_src = {k: v for k, v in dst.items() if not is_sticky(k, sticky)}
    new_src.update({k: v for k, v in src.items() if is_sticky(k, sticky)})
    new_dst = {k: v for k, v in src.items() if not is_sticky(k, sticky)}
    new_dst.update({k: v for k, v in dst.items() if is_sticky(k, sticky)})
    return new_src, new_dst


def _complete(world: World, op: SwapOperation) -> None:
    ops = ops_of(world)
    source, target = op.source, op.target
    app_sticky, conn_sticky = sticky_names(source)
    src_settings = op.preview.app_settings if op.preview else source.app_settings
    src_conns = op.preview.connection_strings if op.preview else source.connection_strings
    source.app_settings, target.app_settings = _exchange(
        src_settings, target.app_settings, app_sticky, _is_sticky_setting
    )
    source.connection_strings, target.connection_strings = _exchange(
        src_conns, target.connection_strings, conn_sticky, lambda k, s: k in s
    )
    source.site_config, target.site_config = _exchange(
        source.site_config, target.site_config, set(STICKY_CONFIG), lambda k, s: k in s
    )
    source.build, target.build = target.build, source.build
    status = {
        "timestampUtc": _utc(world.now()),
        "sourceSlotName": slot_label(source),
        "destinationSlotName": slot_label(target),
    }
    source.slot_swap_status = dict(status)
    target.slot_swap_status = dict(status)
    source.target_swap_slot = None
    op.done = True
    ops.running.pop(op.production, None)


def operation(world: World, site: Site, op_id: str) -> SwapOperation | None:
    """The swap whose ``Location`` names ``site`` and ``op_id`` (None if there is none)."""
    with world.lock:
        op = ops_of(world).operations.get(op_id.lower())
        if op is None or op.source is not site:
            return None
        settle(world, site)
        return op


def in_progress(world: World, site: Site) -> bool:
    with world.lock:
        settle(world, site)
        return production_of(site) in ops_of(world).running


# -- swap with preview ---------------------------------------------------------------------------
def apply_slot_config(world: World, source: Site, target: Site) -> None:
    """Phase 1: ``source`` takes ``target``'s sticky settings; remember what it had."""
    prod = production_of(source)
    ops = ops_of(world)
    with world.lock:
        settle(world, prod)
        if prod in ops.running:
            raise _conflict(prod)
        pending = ops.previews.get(prod)
        if pending is not None:
            if pending.source is source and pending.target is target:
                return  # already applied
            raise OpError(
                409,
                "Conflict",
                f"A swap with preview from '{slot_label(pending.source)}' to '{slot_label(pending.target)}' "
                f"is pending for site '{prod.name}'. Complete or reset it first.",
            )
        app_sticky, conn_sticky = sticky_names(source)
        preview = Preview(source, target, dict(source.app_settings), dict(source.connection_strings), world.now())
        settings = {k: v for k, v in source.app_settings.items() if not _is_sticky_setting(k, app_sticky)}
        settings.update({k: v for k, v in target.app_settings.items() if _is_sticky_setting(k, app_sticky)})
        conns = {k: v for k, v in source.connection_strings.items() if k not in conn_sticky}
        conns.update({k: v for k, v in target.connection_strings.items() if k in conn_sticky})
        source.app_settings, source.connection_strings = settings, conns
        source.target_swap_slot = slot_label(target)
        ops.previews[prod] = preview


def reset_slot_config(world: World, site: Site) -> None:
    """Cancel the pending preview ``site`` takes part in, as its source or its target (nothing
    to do otherwise): the source gets its own settings back (Azure's docs: "If you cancel the
    swap, App Service reapplies configuration elements to the source slot").

    Posted on the target too because that is what az sends (``slot swap --action reset``: with no
    ``--target-slot`` on the site, with one on ``slots/{target}``, its comment "we will reset both
    source slot and target slot"), and the portal's cancel ends the preview either way. That real
    App Service cancels from the target's side is UNVERIFIED (only the source-side call, as in
    Azure's docs and PowerShell's ResetSlotSwap, is documented)."""
    prod = production_of(site)
    ops = ops_of(world)
    with world.lock:
        settle(world, prod)
        if prod in ops.running:
            raise _conflict(prod)
        preview = ops.previews.get(prod)
        if preview is None or (site is not preview.source and site is not preview.target):
            return
        source = preview.source
        source.app_settings = dict(preview.app_settings)
        source.connection_strings = dict(preview.connection_strings)
        source.target_swap_slot = None
        del ops.previews[prod]


def preview_state(world: World, site: Site) -> dict[str, Any] | None:
    with world.lock:
        p = ops_of(world).previews.get(production_of(site))
        if p is None:
            return None
        return {"source": slot_label(p.source), "target": slot_label(p.target), "since": p.since}


# -- managed identities of sites ----------------------------------------------------------------
def enable_identity(world: World, site: Site) -> Principal:
    """The site's (or slot's) system-assigned identity, created on first call. It is not this
    machine's identity: the emulator's MSI/IMDS endpoints never hand out its tokens."""
    with world.lock:
        if site.identity is not None:
            return site.identity
        tenant = world.subscriptions[site.subscription_id.lower()].tenant_id
        p = world._add_principal(tenant, "managed_identity", display_name=site.name)
        site.identity = p
        return p


def identity_json(site: Site) -> dict[str, Any] | None:
    if site.identity is None and not site.user_identities:
        return None
    kinds = (["SystemAssigned"] if site.identity else []) + (["UserAssigned"] if site.user_identities else [])
    body: dict[str, Any] = {"type": ", ".join(kinds)}
    if site.identity is not None:
        body["principalId"] = site.identity.object_id
        body["tenantId"] = site.identity.tenant_id
    if site.user_identities:
        body["userAssignedIdentities"] = {
            p.resource_id: {"principalId": p.object_id, "clientId": p.client_id} for p in site.user_identities
        }
    return body


def reference_identity(site: Site) -> Principal | None:
    """The identity Key Vault references of ``site`` resolve with (None: not enabled)."""
    ref = site.key_vault_reference_identity
    if ref.lower() == "systemassigned":
        return site.identity
    return next((p for p in site.user_identities if (p.resource_id or "").lower() == ref.lower()), None)


# -- Key Vault references ---------------------------------------------------------------------------
_KV_REF = re.compile(r"^\s*@Microsoft\.KeyVault\((?P<body>.*)\)\s*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class KvReference:
    vault_host: str | None
    vault_name: str | None
    secret_name: str | None
    secret_version: str | None
    valid: bool


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith("@microsoft.keyvault(")


def parse_reference(value: str, vault_suffix: str) -> KvReference:
    invalid = KvReference(None, None, None, None, False)
    m = _KV_REF.match(value)
    if m is None:
        return invalid
    parts: dict[str, str] = {}
    for item in m.group("body").split(";"):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not val.strip():
            return invalid
        parts[key.strip().lower()] = val.strip()
    if set(parts) == {"secreturi"}:
        url = urlsplit(parts["secreturi"])
        segments = [s for s in url.path.split("/") if s]
        if url.scheme != "https" or not url.hostname or len(segments) not in (2, 3) or segments[0] != "secrets":
            return invalid
        host = url.hostname.lower()
        version = segments[2] if len(segments) == 3 else None
        return KvReference(host, host.split(".", 1)[0], segments[1], version, True)
    if {"vaultname", "secretname"} <= set(parts) <= {"vaultname", "secretname", "secretversion"}:
        vault = parts["vaultname"].lower()
        return KvReference(f"{vault}.{vault_suffix}", vault, parts["secretname"], parts.get("secretversion"), True)
    return invalid


_DETAILS = {  # texts UNVERIFIED word for word
    "Initialized": "The reference has not been resolved yet.",
    "Resolved": "Reference was successfully resolved.",
    "InvalidSyntax": "The Key Vault reference has invalid syntax.",
    "MSINotEnabled": "The app does not have a managed identity enabled to resolve Key Vault references.",
    "VaultNotFound": "Key Vault '{vault}' could not be found.",
    "SecretNotFound": "Secret '{secret}' could not be found in Key Vault '{vault}'.",
    "SecretVersionNotFound": "Version '{version}' of secret '{secret}' could not be found in Key Vault '{vault}'.",
    "AccessToKeyVaultDenied": "Key Vault '{vault}' denied the app's identity access to secret '{secret}'.",
    "OtherReasons": "Secret '{secret}' in Key Vault '{vault}' is disabled.",
}


def _resolve(world: World, site: Site, ref: KvReference) -> tuple[str, str | None]:
    """(status, active version) as the app's own identity would see it now."""
    if not ref.valid or ref.vault_host is None or ref.secret_name is None:
        return "InvalidSyntax", None
    vault = world.vaults.get(ref.vault_host)
    if vault is None:
        return "VaultNotFound", None
    identity = reference_identity(site)
    if identity is None:
        return "MSINotEnabled", None
    target = f"{vault.resource_id}/secrets/{ref.secret_name}"
    if identity.tenant_id != vault.tenant_id or not world.is_authorized(
        identity.object_id, GET_SECRET, target, data=True
    ):
        return "AccessToKeyVaultDenied", None
    versions = vault.secrets.get(ref.secret_name.lower(), [])
    if not versions:
        return "SecretNotFound", None
    if ref.secret_version:
        chosen = next((v for v in versions if v.version == ref.secret_version), None)
        if chosen is None:
            return "SecretVersionNotFound", None
    else:
        chosen = versions[-1]
    if not chosen.enabled:
        return "OtherReasons", None
    return "Resolved", chosen.version


def kv_references(world: World, site: Site, area: str, only: str | None = None) -> list[dict[str, Any]]:
    """ApiKVReference bodies for ``site``'s references in ``area`` (``appsettings`` or
    ``connectionstrings``); each read counts towards leaving ``Initialized``."""
    ops = ops_of(world)
    cloud = get_cloud(site.cloud)
    out: list[dict[str, Any]] = []
    with world.lock:
        source: dict[str, Any] = site.app_settings if area == "appsettings" else site.connection_strings
        for name, raw in source.items():
            value = raw.get("value") if isinstance(raw, dict) else raw
            if only is not None and name.lower() != only.lower():
                continue
            if not is_reference(value):
                continue
            assert isinstance(value, str)
            ref = parse_reference(value, cloud.vault_suffix)
            key = (site, area, name.lower())
            read = ops.kv_reads.get(key)
            if read is None or read.reference != value:
                read = ops.kv_reads[key] = KvRead(value, 0, world.now())
            read.reads += 1
            if _ready(
                read.reads,
                ops.kv_reference_resolution_polls,
                read.since,
                ops.kv_reference_resolution_seconds,
                world.now(),
            ):
                status, active = _resolve(world, site, ref)
            else:
                status, active = "Initialized", None
            identity = reference_identity(site)
            if site.key_vault_reference_identity.lower() == "systemassigned":
                identity_type: dict[str, Any] = {"type": "SystemAssigned"}
            else:
                identity_type = {
                    "type": "UserAssigned",
                    "userAssignedIdentities": {
                        site.key_vault_reference_identity: (
                            {"principalId": identity.object_id, "clientId": identity.client_id} if identity else {}
                        )
                    },
                }
            details = _DETAILS.get(status, "").format(
                vault=ref.vault_name or "", secret=ref.secret_name or "", version=ref.secret_version or ""
            )
            config_type = "Microsoft.Web/sites/slots/config" if site.slot else "Microsoft.Web/sites/config"
            out.append(
                {
                    "id": f"{site.id}/config/configreferences/{area}/{name}",
                    "name": name,
                    "type": f"{config_type}/configreferences",
                    "location": site.location,
                    "properties": {
                        "reference": value,
                        "status": status,
                        "vaultName": ref.vault_name,
                        "secretName": ref.secret_name,
                        "secretVersion": ref.secret_version,
                        "identityType": identity_type,
                        "details": details,
                        "source": "KeyVault",
                        "activeVersion": active,
                    },
                }
            )
    return out


# -- the container runtime -----------------------------------------------------------------------
def image_of(site: Site) -> str | None:
    """The container image of ``DOCKER|<image>`` in linuxFxVersion/windowsFxVersion, if any."""
    for key in ("linuxFxVersion", "windowsFxVersion"):
        value = site.site_config.get(key) or ""
        kind, sep, rest = str(value).partition("|")
        if sep and kind.upper() == "DOCKER" and rest:
            return rest
    return None


def runtime_status(world: World, site: Site) -> str:
    """``Stopped`` (admin state), ``CrashLooping`` or ``Ready``."""
    with world.lock:
        if site.state != "Running":
            return "Stopped"
        ops = ops_of(world)
        behaviour = ops.site_behaviours.get(site)
        if behaviour is None:
            image = image_of(site)
            behaviour = ops.image_behaviours.get(image.lower(), "healthy") if image else "healthy"
        return "CrashLooping" if behaviour == "crashloop" else "Ready"
