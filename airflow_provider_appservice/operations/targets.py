"""Which app or slot an operation acts on, and the names ARM gives its actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRODUCTION = "production"


def check_names(**names: object) -> None:
    """Raise ``TaskArgumentError`` naming the first name Azure would refuse (``None`` is absent)."""
    from airflow_provider_appservice.errors import TaskArgumentError
    from airflow_provider_appservice.names import RULES

    for argument, value in names.items():
        if value is None:
            continue
        problem = RULES[argument](value)
        if problem:
            raise TaskArgumentError(argument, f"{value!r} {problem}", f"give the {argument} exactly as Azure shows it")


def normalise_slot(slot: str | None) -> str | None:
    """``None`` and ``"production"`` (any case) both mean the production site."""
    if slot is None or not str(slot).strip() or str(slot).strip().lower() == PRODUCTION:
        return None
    return str(slot).strip()


@dataclass(frozen=True)
class AppTarget:
    """An app or slot, its names checked against Azure's rules the moment it exists: every
    operation builds its URLs from one of these, whatever the names came from."""

    resource_group: str
    app_name: str
    slot: str | None = None

    def __post_init__(self) -> None:
        check_names(resource_group=self.resource_group, app_name=self.app_name, slot=self.slot)

    @property
    def label(self) -> str:
        return f"{self.app_name}/{self.slot}" if self.slot else self.app_name

    def action(self, verb: str) -> str:
        """The RBAC action name for a verb, e.g. ``restart/action`` on a slot."""
        scope = "Microsoft.Web/sites/slots" if self.slot else "Microsoft.Web/sites"
        return f"{scope}/{verb}"


def site_call(ops: Any, method: str, target: AppTarget, *args: Any, **kwargs: Any) -> Any:
    """Call an SDK ``web_apps`` method for the site, or its ``<method>_slot`` twin for a slot.

    The SDK names every slot variant that way and puts the slot right after the app name.
    """
    if target.slot:
        return getattr(ops, f"{method}_slot")(target.resource_group, target.app_name, target.slot, *args, **kwargs)
    return getattr(ops, method)(target.resource_group, target.app_name, *args, **kwargs)
