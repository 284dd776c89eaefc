"""Which Azure RBAC actions each operator and sensor needs, and the least built-in role that
covers all of them.

A 403 names the one action Azure refused, and that is usually the first call a task makes (a
read). Suggesting the least role for *that* action sends users round twice: deploy would first
say 'Reader', then, once granted, 'Website Contributor'. So the hint names the role that covers
every action the running task needs; the task declares itself with :func:`acting_as`, which
the operator and sensor bases call before ``execute``. The table also feeds the docs (and a
test checks it against the actions the emulator authorised during each operator's run).

A neutral module: it imports nothing of the provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

SITE = "Microsoft.Web/sites"
SLOT = "Microsoft.Web/sites/slots"

# Verbs each task performs on its own target (the site, or the slot for a slot task).
# ``site:`` verbs always act on the production site (sticky names live there).
_VERBS: dict[str, tuple[str, ...]] = {
    "AppServiceDeployOperator": ("read", "config/list/action", "publish/action", "deploymentStatus/read"),
    "AppServiceRestartOperator": ("read", "restart/action"),
    "AppServiceStartOperator": ("read", "start/action"),
    "AppServiceStopOperator": ("read", "stop/action"),
    "AppServiceSwapSlotsOperator": (
        "read",
        "site:read",
        "slotsswap/action",
        "applySlotConfig/action",
        "resetSlotConfig/action",
        "operationresults/read",
    ),
    "AppServiceUpdateAppSettingsOperator": (
        "read",
        "config/list/action",
        "config/write",
        "config/read",
        "site:config/read",
        "site:config/write",
    ),
    "AppServiceDeployContainerOperator": ("read", "config/read", "config/write"),
    "AppServiceEndpointOperator": ("read", "config/read"),
    "AppServiceDeploymentSensor": ("read", "publish/action", "deploymentStatus/read"),
    "AppServiceHealthSensor": ("read", "config/read"),  # config/read: the Easy Auth audiences, with ``auth``
    "AppServiceStateSensor": ("read",),
    "AppServiceHook.test_connection": ("read",),
}

#: Built-in roles from least to most powerful, with the action patterns each grants (a trimmed
#: copy of their definitions: enough to choose among them for ``Microsoft.Web`` actions).
BUILT_IN_ROLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Reader", ("*/read",)),
    ("Website Contributor", ("Microsoft.Web/sites/*",)),
    ("Contributor", ("*",)),
)


@dataclass(frozen=True)
class Needs:
    """What one task needs: its class name, whether it acts on a slot, and the RBAC actions."""

    task_type: str
    actions: tuple[str, ...]

    @property
    def least_role(self) -> str:
        return least_role(self.actions)


def actions_for(task_type: str, slot: bool) -> tuple[str, ...]:
    """The RBAC actions ``task_type`` needs on a site (``slot=False``) or a slot."""
    actions: list[str] = []
    for verb in _VERBS.get(task_type, ()):
        if verb.startswith("site:"):
            actions.append(f"{SITE}/{verb[len('site:') :]}")
        else:
            actions.append(f"{SLOT if slot else SITE}/{verb}")
    return tuple(dict.fromkeys(actions))


def least_role(actions: tuple[str, ...]) -> str:
    """The least powerful built-in role granting every one of ``actions``."""
    from fnmatch import fnmatchcase

    for role, patterns in BUILT_IN_ROLES:
        if all(any(fnmatchcase(a.lower(), p.lower()) for p in patterns) for a in actions):
            return role
    return BUILT_IN_ROLES[-1][0]


def known_task_type(cls: type) -> str | None:
    """The provider class ``cls`` is or derives from (users subclass operators)."""
    for base in cls.__mro__:
        if base.__name__ in _VERBS and base.__module__.startswith("airflow_provider_appservice."):
            return base.__name__
    return None


_current: ContextVar[Needs | None] = ContextVar("appservice_task_needs", default=None)


def acting_as(task_type: str, slot: bool) -> None:
    """Declare the running task, so a 403 hint can name the role covering all it needs."""
    _current.set(Needs(task_type, actions_for(task_type, slot)) if task_type in _VERBS else None)


@contextmanager
def declared(task_type: str, slot: bool = False) -> Iterator[None]:
    """:func:`acting_as` for a block (a hook method), restoring what was declared before."""
    token = _current.set(Needs(task_type, actions_for(task_type, slot)) if task_type in _VERBS else None)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Needs | None:
    return _current.get()


def role_hint(action: str | None) -> str:
    """The fix for a 403 on ``action``: the least built-in role covering the whole task."""
    needs = current()
    if needs is not None and needs.actions:
        listed = ", ".join(f"'{a}'" for a in needs.actions)
        refused = f"'{action}' was refused; " if action else ""
        return (
            f"{refused}{needs.task_type} needs {listed}: grant the identity the built-in role "
            f"'{needs.least_role}' on the app (the least built-in role covering all of them), "
            "or a custom role with exactly these actions"
        )
    if not action:
        return "Grant the identity a role that allows it, e.g. 'Website Contributor' on the app"
    role = least_role((action,))
    return f"Grant the identity a role that allows '{action}', e.g. the built-in role '{role}'"
