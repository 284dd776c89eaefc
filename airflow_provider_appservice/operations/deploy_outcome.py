"""The error a finished deployment wait ends a task with, the same on every path (worker, poke,
trigger): a failed deployment with its last log lines, a timeout that a retry reconnects to, or
status requests that kept failing until the deadline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_appservice.errors import AzureRequestError, DeploymentFailed, DeploymentTimeout
from airflow_provider_appservice.operations.kudu_status import DeploymentTracker, Outcome
from airflow_provider_appservice.operations.targets import AppTarget


def failure_from_event(label: str, event: Mapping[str, Any], message: str) -> DeploymentFailed:
    """The error a failed deployment ends a task with: status, last log lines, log URL."""
    lines = "\n".join(f"  {line}" for line in event.get("last_lines") or []) or "  (the deployment log is empty)"
    return DeploymentFailed(
        f"Deployment {event.get('deployment_id')} to {label} failed "
        f"({event.get('deployment_status')}): {message}\nLast log lines:\n{lines}\n"
        f"Deployment log: {event.get('log_url') or 'n/a'}",
        deployment_id=event.get("deployment_id"),
        status=str(event.get("deployment_status")),
        log_url=event.get("log_url"),
    )


def log_url_of(scm_base: str, tracker: DeploymentTracker) -> str | None:
    if tracker.log_url:
        return tracker.log_url
    if tracker.deployment_id:
        return f"{scm_base}/api/deployments/{tracker.deployment_id}/log"
    return None


def unanswered_error(outcome: Outcome, target: AppTarget, log_url: str | None) -> AzureRequestError:
    """The deadline came while Azure kept failing the status requests: say that (status and all),
    not "still Pending". Transient: a retry of the task reconnects to the deployment."""
    reason = str(outcome.unanswered)
    status = int(reason.removeprefix("HTTP ")) if reason.startswith("HTTP ") and reason[5:].isdigit() else None
    return AzureRequestError(
        f"Reading the deployment status of '{target.label}'",
        status=status,
        code=None,
        message=outcome.message,
        hint=f"The deployment may still complete; a retry of this task reconnects to it. Log: {log_url or 'n/a'}",
    )


def raise_for_outcome(
    outcome: Outcome, target: AppTarget, tracker: DeploymentTracker, scm_base: str, last_lines: list[str]
) -> None:
    """Turn a failed or timed-out outcome into the error the task fails with."""
    if outcome.succeeded:
        return
    log_url = log_url_of(scm_base, tracker)
    where = f"deployment {tracker.deployment_id}" if tracker.deployment_id else "the deployment"
    if outcome.timed_out and outcome.unanswered:
        raise unanswered_error(outcome, target, log_url)
    if outcome.timed_out:
        raise DeploymentTimeout(
            f"{where} to {target.label} did not finish: {outcome.message}. It may still complete; a retry of "
            f"this task reconnects to it. Log: {log_url or 'n/a'}"
        )
    tail = "\n".join(f"  {line}" for line in last_lines) if last_lines else "  (the deployment log is empty)"
    raise DeploymentFailed(
        f"{where} to {target.label} failed ({outcome.status}): {outcome.message}\nLast log lines:\n{tail}\n"
        f"Deployment log: {log_url or 'n/a'}",
        deployment_id=tracker.deployment_id,
        status=outcome.status,
        log_url=log_url,
    )
