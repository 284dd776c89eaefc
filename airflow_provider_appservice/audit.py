"""One audit line per operation: who (the Azure identity and the Airflow actor), what (action),
on which resource, ARM ids.

Security reviewers grep task logs for ``AUDIT`` and can route the ``airflow_provider_appservice.audit``
logger elsewhere; the line never carries a token or a value. It names the DAG, run, task and try
and, where Airflow knows it, the user who triggered the run, so "who caused this restart" has an
answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_appservice.identity.config import IdentityConfig

AUDIT_LOGGER = logging.getLogger("airflow_provider_appservice.audit")
AUDIT_LOGGER.propagate = False  # users attach their own handlers; the task log gets the line once


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
        **airflow_actor(),
    }
    return "AUDIT " + " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, ""))


def airflow_actor() -> dict[str, Any]:
    """Which DAG run, task and try is acting, and who triggered the run (empty outside a task)."""
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
    except Exception:  # not inside a running task (a hook method called from a script)
        return {}
    ti = context.get("ti")
    dag_run = context.get("dag_run")
    if ti is None:
        return {}
    return {
        "dag_id": getattr(ti, "dag_id", None),
        "run_id": getattr(ti, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "triggered_by": getattr(dag_run, "triggering_user_name", None),
    }


def audit(logger: logging.Logger | Any, identity: IdentityConfig, action: str, resource_id: str, **kw: Any) -> None:
    """Write the audit line to the task log, and to the provider's audit logger for routing.

    The audit logger does not propagate (``AUDIT_LOGGER.propagate`` is False): its records go only
    to the handlers users attach to it (a file, a SIEM), never a second time into the task log
    through the root logger — which printed every line twice.
    """
    line = audit_line(identity, action, resource_id, **kw)
    logger.info("%s", line)
    if logger is not AUDIT_LOGGER:
        AUDIT_LOGGER.info("%s", line)
