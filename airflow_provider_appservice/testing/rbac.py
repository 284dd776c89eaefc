"""Azure RBAC, reduced to what the emulated routes ask: role → (actions, notActions, dataActions).

Patterns follow the built-in role definitions (wildcards in ``*``); they are trimmed copies, so
an action not listed here may be granted differently in real Azure. Note that, as in real Azure,
Owner and Contributor carry **no data actions**: reading a Key Vault secret under the RBAC
permission model needs a Key Vault data role (e.g. Key Vault Secrets User). Later slices add
actions by calling ``check`` with new action names; roles rarely need to change.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()


ROLES: dict[str, Role] = {
    "Owner": Role(actions=("*",)),
    "Contributor": Role(
        actions=("*",),
        not_actions=(
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
    ),
    "Reader": Role(actions=("*/read",)),
    "Website Contributor": Role(
        actions=(
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Web/certificates/*",
            "Microsoft.Web/listSitesAssignedToHostName/read",
            "Microsoft.Web/serverFarms/join/action",
            "Microsoft.Web/serverFarms/read",
            "Microsoft.Web/sites/*",
        )
    ),
    "Key Vault Secrets User": Role(
        data_actions=(
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        )
    ),
    "Key Vault Secrets Officer": Role(
        actions=("Microsoft.Authorization/*/read", "Microsoft.KeyVault/vaults/*/read"),
        data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
    ),
    "Key Vault Administrator": Role(
        actions=("Microsoft.Authorization/*/read", "Microsoft.KeyVault/vaults/*/read"),
        data_actions=("Microsoft.KeyVault/vaults/*",),
    ),
}


def _matches(action: str, patterns: tuple[str, ...]) -> bool:
    a = action.lower()
    return any(fnmatch.fnmatchcase(a, p.lower()) for p in patterns)


def role_grants(role: str, action: str, data: bool = False) -> bool:
    """Whether ``role`` allows ``action`` (a control-plane action, or a data action if ``data``)."""
    definition = ROLES[role]
    if data:
        return _matches(action, definition.data_actions)
    return _matches(action, definition.actions) and not _matches(action, definition.not_actions)


def scope_covers(assignment_scope: str, resource_id: str) -> bool:
    """An assignment at a scope applies to that resource and everything below it."""
    scope = assignment_scope.rstrip("/").lower()
    rid = resource_id.rstrip("/").lower()
    return rid == scope or rid.startswith(scope + "/")
