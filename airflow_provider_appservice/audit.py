"""One audit line per operation: who (identity), what (action), on which resource, ARM ids.

Security reviewers grep task logs for ``AUDIT``; the line never carries a token or a value.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_appservice.identity.config import IdentityConfig

AUDIT_LOGGER = logging.getLogger("airflow_provider_appservice.audit")


def audit_line(
    identity: IdentityConfig,
    action: str,
    resource_id: str,
    *,
    outcome: str,
    request_id: str | None = None,
    correlation_id: str | None = None,
    **details: Any,
) -> str:
    from airflow_provider_appservice.identity.tokens import LEDGER

    claims = LEDGER.claims(identity.principal_label)
    fields = {
        "action": action,
        "resource": resource_id,
        "outcome": outcome,
        "identity": identity.principal_label,
        "object_id": claims.get("oid"),
        "tenant": claims.get("tid") or identity.tenant_id,
        "request_id": request_id,
        "correlation_id": correlation_id,
        **details,
    }
    return "AUDIT " + " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, ""))


def audit(logger: logging.Logger | Any, identity: IdentityConfig, action: str, resource_id: str, **kw: Any) -> None:
    """Write the audit line to the task log and to the provider's audit logger."""
    line = audit_line(identity, action, resource_id, **kw)
    logger.info("%s", line)
    if logger is not AUDIT_LOGGER:
        AUDIT_LOGGER.info("%s", line)
