"""The emulator's public API for ARM write operations (mixed into ``AppServiceEmulator``):
knobs for how long things take, seeding, and accessors tests assert on. Accessors take a
``Site`` (production site or slot) and never count as an observation of a running swap, but
they do let one finish by the emulator clock (``emu.advance``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_appservice.testing import (
    arm,
    arm_config,
    arm_lifecycle,
    arm_settings,
    arm_slots,
    arm_swap,
    site_ops,
)
from airflow_provider_appservice.testing.model import Principal, Site
from airflow_provider_appservice.testing.state import World

# The ARM areas of this slice (``emulator.ARM_AREAS`` includes them).
ARM_WRITE_AREAS: list[Callable[[arm.ArmRoutes], None]] = [
    arm_lifecycle.register,
    arm_swap.register,
    arm_settings.register,
    arm_config.register,
    arm_slots.register,
]


def _knob(name: str, doc: str) -> Any:
    def get(self: SiteOperationsMixin) -> Any:
        return getattr(site_ops.ops_of(self.world), name)

    def set_(self: SiteOperationsMixin, value: Any) -> None:
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0 or None")
        with self.world.lock:
            setattr(site_ops.ops_of(self.world), name, value)

    return property(get, set_, doc=doc)


class SiteOperationsMixin:
    world: World

    # -- knobs (reset() restores the defaults) ------------------------------------------------
    swap_duration_polls = _knob(
        "swap_duration_polls",
        "How many observations of a running swap answer 'in progress' (default 2): polls of its "
        "Location answer 202 this many times, then 200. Any ARM GET naming the app counts. None: "
        "only swap_duration_seconds decides.",
    )
    swap_duration_seconds = _knob(
        "swap_duration_seconds",
        "A swap also finishes once this much emulator-clock time passed (default None).",
    )
    lro_retry_after = _knob(
        "lro_retry_after",
        "Retry-After (whole seconds) on swap 202s and in-progress polls (default 15, as real App "
        "Service paces them). azure-core waits it through the transport's sleep, so run the provider "
        "on an EmulatorClock (use_clock) to pay nothing for it. None: not sent (0 is read as absent).",
    )
    lro_retry_after_ms = _knob(
        "lro_retry_after_ms",
        "The fast knob, NOT what Azure sends: retry-after-ms on swap 202s and polls (default None: "
        "not sent). azure-core reads it only when Retry-After is absent, so set lro_retry_after=None "
        "too, for clients that cannot run on an EmulatorClock.",
    )
    kv_reference_resolution_polls = _knob(
        "kv_reference_resolution_polls",
        "How many reads of a Key Vault reference's status answer 'Initialized' after it was set (default 1).",
    )
    kv_reference_resolution_seconds = _knob(
        "kv_reference_resolution_seconds",
        "A Key Vault reference also resolves once this much emulator-clock time passed (default None).",
    )

    def _reset_site_operations(self) -> None:
        site_ops.reset_knobs(self.world)

    # -- state ------------------------------------------------------------------------------------
    def site_state(self, site: Site) -> str:
        """The admin state ARM shows (``Running``/``Stopped``)."""
        with self.world.lock:
            return site.state

    def set_site_state(self, site: Site, state: str) -> None:
        if state not in ("Running", "Stopped"):
            raise ValueError("state must be 'Running' or 'Stopped'")
        site_ops.set_state(self.world, site, state)

    def restarts(self, site: Site) -> int:
        """How many restarts ARM accepted for this site or slot."""
        return len(site_ops.restarts(self.world, site))

    def restart_log(self, site: Site) -> list[site_ops.Restart]:
        """Each restart with its ``soft``/``synchronous`` flags (None when not sent) and time."""
        return site_ops.restarts(self.world, site)

    # -- builds and swaps --------------------------------------------------------------------------
    def build_of(self, site: Site) -> str:
        """The build a site or slot serves (its app host shows it; swaps exchange it)."""
        with self.world.lock:
            site_ops.settle(self.world, site)
            return site.build

    def set_build(self, site: Site, build: str) -> None:
        with self.world.lock:
            site.build = build

    def swap_status(self, site: Site) -> dict[str, Any] | None:
        """``slotSwapStatus`` as ARM shows it for this site or slot (running or last swap)."""
        with self.world.lock:
            site_ops.settle(self.world, site)
            return dict(site.slot_swap_status) if site.slot_swap_status else None

    def swap_in_progress(self, site: Site) -> bool:
        """Whether a swap of this site's app is running."""
        return site_ops.in_progress(self.world, site)

    def finish_swaps(self, site: Site | None = None) -> None:
        """Complete running swaps now (of ``site``'s app, or every app)."""
        site_ops.finish(self.world, site)

    def preview_state(self, site: Site) -> dict[str, Any] | None:
        """The app's pending swap with preview: ``{"source", "target", "since"}`` or None."""
        return site_ops.preview_state(self.world, site)

    # -- settings ------------------------------------------------------------------------------------
    def app_settings(self, site: Site) -> dict[str, str]:
        with self.world.lock:
            site_ops.settle(self.world, site)
            return dict(site.app_settings)

    def set_app_settings(self, site: Site, settings: dict[str, str]) -> None:
        """Replace a site's or slot's app settings (as ``PUT config/appsettings`` would)."""
        with self.world.lock:
            site.app_settings = dict(settings)

    def connection_strings(self, site: Site) -> dict[str, dict[str, str]]:
        """``{name: {"value", "type"}}``."""
        with self.world.lock:
            site_ops.settle(self.world, site)
            return {k: dict(v) for k, v in site.connection_strings.items()}

    def set_connection_strings(self, site: Site, strings: dict[str, tuple[str, str]]) -> None:
        """Replace connection strings: ``{name: (value, type)}``, type e.g. ``SQLAzure``/``Custom``."""
        types = {t.lower(): t for t in site_ops.CONNECTION_STRING_TYPES}
        clean = {k: {"value": v, "type": types[t.lower()]} for k, (v, t) in strings.items()}
        with self.world.lock:
            site.connection_strings = clean

    def slot_config_names(self, site: Site) -> dict[str, list[str] | None]:
        """The app's sticky names (site-wide; lists are None until first set)."""
        with self.world.lock:
            names = site_ops.production_of(site).slot_config_names
            return {k: (list(v) if v is not None else None) for k, v in names.items()}

    def set_slot_config_names(
        self, site: Site, app_settings: list[str] | None = None, connection_strings: list[str] | None = None
    ) -> None:
        with self.world.lock:
            site_ops.production_of(site).slot_config_names = {
                "appSettingNames": list(app_settings or []),
                "connectionStringNames": list(connection_strings or []),
                "azureStorageConfigNames": [],
            }

    def site_config(self, site: Site) -> dict[str, Any]:
        """What was set in ``config/web`` (defaults not included)."""
        with self.world.lock:
            site_ops.settle(self.world, site)
            return dict(site.site_config)

    # -- identities for Key Vault references -------------------------------------------------------
    def enable_site_identity(self, site: Site) -> Principal:
        """Give a site or slot its system-assigned managed identity (idempotent). Grant it vault
        roles with ``assign_role``; it resolves the app's Key Vault references. The emulator's
        MSI/IMDS endpoints never hand out its tokens (it is the app's, not this machine's)."""
        return site_ops.enable_identity(self.world, site)

    def assign_site_identity(self, site: Site, identity: Principal, for_key_vault_references: bool = False) -> None:
        """Attach a user-assigned identity (from ``add_managed_identity(user_assigned=True)``);
        with ``for_key_vault_references`` it becomes ``keyVaultReferenceIdentity``."""
        if identity.kind != "managed_identity" or not identity.user_assigned or not identity.resource_id:
            raise ValueError("not a user-assigned managed identity")
        with self.world.lock:
            if identity not in site.user_identities:
                site.user_identities.append(identity)
            if for_key_vault_references:
                site.key_vault_reference_identity = identity.resource_id

    def set_key_vault_reference_identity(self, site: Site, identity: Principal | str = "SystemAssigned") -> None:
        """``keyVaultReferenceIdentity``: ``"SystemAssigned"`` or an attached user-assigned identity."""
        with self.world.lock:
            if isinstance(identity, Principal):
                if identity not in site.user_identities or not identity.resource_id:
                    raise ValueError("attach the identity with assign_site_identity first")
                site.key_vault_reference_identity = identity.resource_id
            else:
                site.key_vault_reference_identity = identity

    # -- the container runtime ----------------------------------------------------------------------
    def set_image_behaviour(self, image: str, behaviour: str) -> None:
        """How a container image behaves wherever it runs: ``healthy`` or ``crashloop``."""
        if behaviour not in site_ops.RUNTIME_BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {site_ops.RUNTIME_BEHAVIOURS}")
        with self.world.lock:
            site_ops.ops_of(self.world).image_behaviours[image.lower()] = behaviour

    def set_runtime_behaviour(self, site: Site, behaviour: str | None) -> None:
        """Override one site's or slot's runtime (``healthy``/``crashloop``; None: by its image)."""
        if behaviour is not None and behaviour not in site_ops.RUNTIME_BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {site_ops.RUNTIME_BEHAVIOURS}")
        with self.world.lock:
            behaviours = site_ops.ops_of(self.world).site_behaviours
            if behaviour is None:
                behaviours.pop(site, None)
            else:
                behaviours[site] = behaviour

    def runtime_status(self, site: Site) -> str:
        """``Ready``, ``CrashLooping`` or ``Stopped`` — what the app host reflects (200/503/403)."""
        return site_ops.runtime_status(self.world, site)
