"""Azure's own naming rules, checked before any URL is built from a name.

Quoting a path segment is not enough: urllib3 resolves dot segments, so a slot named ``..``
would act on the production site, and requests decodes ``%2E%2E`` back to ``..``. Every name
that goes into an ARM path — from a task argument, a connection, a rendered template, a
trigger's kwargs or ``task_state_store`` — passes these rules first (Azure's documented
resource-name rules for ``Microsoft.Resources/resourcegroups``, ``Microsoft.Web/sites`` and
``sites/slots``; a subscription id is a GUID). Standard library only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

# (min length, max length, what the name may contain) per kind of name.
SITE = (2, 60, "letters, digits and hyphens, not starting or ending with a hyphen")
SLOT = (2, 59, "letters, digits and hyphens, not starting or ending with a hyphen")
RESOURCE_GROUP = (1, 90, "letters, digits, underscores, hyphens, periods and parentheses, not ending with a period")

_SITE_CHARS = re.compile(r"^[^\W_](?:[^\W_]|-)*(?<!-)$")  # Unicode letters/digits and inner hyphens
_GROUP_CHARS = re.compile(r"^[\w\-.()]+(?<!\.)$")


def _check(value: object, rule: tuple[int, int, str], pattern: re.Pattern[str]) -> str | None:
    """The problem with ``value`` as a name of this kind, or None when Azure would accept it."""
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    low, high, chars = rule
    if not low <= len(value) <= high:
        return f"must be {low} to {high} characters long (it has {len(value)})"
    if not pattern.match(value):
        return f"may contain only {chars}"
    return None


def site_name_problem(value: object) -> str | None:
    return _check(value, SITE, _SITE_CHARS)


def slot_name_problem(value: object) -> str | None:
    return _check(value, SLOT, _SITE_CHARS)


def resource_group_problem(value: object) -> str | None:
    return _check(value, RESOURCE_GROUP, _GROUP_CHARS)


def subscription_id_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return "must be a subscription ID (a GUID such as 00000000-0000-0000-0000-000000000000)"
    return None if str(parsed) == value.lower() else "must be a GUID in its 8-4-4-4-12 form"


_DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")


def deployment_id_problem(value: object) -> str | None:
    """A Kudu deployment id (a GUID, or a commit id): it goes into ``/api/deployments/{id}``."""
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if value.lower() == "latest" or _DEPLOYMENT_ID.match(value):
        return None
    return "may contain only letters, digits and inner hyphens (up to 64), like a Kudu deployment id"


RULES: dict[str, Callable[[object], str | None]] = {
    "deployment_id": deployment_id_problem,
    "app_name": site_name_problem,
    "slot": slot_name_problem,
    "source_slot": slot_name_problem,
    "target_slot": slot_name_problem,
    "resource_group": resource_group_problem,
    "subscription_id": subscription_id_problem,
}
