"""Restart, start and stop an app or slot: sent once, re-sent only when Azure proves it was not applied.

The SDK's own retry is off for these POSTs (``retry_total=0``): azure-core would otherwise
re-POST on any status that carries Retry-After. A 429 or 503 is a refusal *before*
execution (ARM's throttling and gateway), so it is re-sent after the advertised wait; a
failure to connect never reached Azure (``boundary.was_not_applied`` reads the error chain:
through a proxy a connection cut after sending also looks like a connect error). Anything else that breaks mid-flight (a reset, a
500/502/504) is ambiguous: the app's state decides, and a restart, whose effect state
cannot show, is not re-sent blindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify, failure_facts, is_ambiguous, was_not_applied
from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.errors import AmbiguousOutcomeError
from airflow_provider_appservice.operations.sites import SiteInfo, get_site
from airflow_provider_appservice.operations.targets import AppTarget, site_call
from airflow_provider_appservice.transport.arm import ResponseIds
from airflow_provider_appservice.transport.backoff import Backoff
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

# What state each action leaves the app in, when state can tell at all.
EXPECTED_STATE = {"start": "Running", "stop": "Stopped", "restart": None}


@dataclass(frozen=True)
class LifecycleResult:
    action: str
    site: SiteInfo
    request_id: str | None
    correlation_id: str | None
    attempts: int
    verified_by_state: bool = False


def _send(client: WebSiteManagementClient, target: AppTarget, action: str, ids: ResponseIds, **options: Any) -> None:
    common: dict[str, Any] = {"retry_total": 0, "cls": ids}
    if action == "restart":
        common.update(soft_restart=options.get("soft_restart"), synchronous=options.get("synchronous"))
    site_call(client.web_apps, action, target, **common)


def run_lifecycle_action(
    client: WebSiteManagementClient,
    target: AppTarget,
    action: str,
    *,
    backoff: Backoff,
    max_attempts: int,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
    **options: Any,
) -> LifecycleResult:
    """Send ``restart``/``start``/``stop`` and return the app's state afterwards."""
    from azure.core.exceptions import AzureError

    if action not in EXPECTED_STATE:
        raise ValueError(f"unknown lifecycle action {action!r}")
    ids = ResponseIds()
    attempts = 0
    try:
        for attempt in retrying(
            f"{action} {target.label}",
            retry_on=was_not_applied,
            backoff=backoff,
            max_attempts=max_attempts,
            clock=clock,
            logger=logger,
        ):
            with attempt:
                attempts += 1
                _send(client, target, action, ids, **options)
    except AzureError as exc:
        if not is_ambiguous(exc):
            raise classify(
                f"{action.capitalize()} of '{target.label}'", exc, required_action=target.action(f"{action}/action")
            ) from None
        site = get_site(client, target.resource_group, target.app_name, target.slot)
        expected = EXPECTED_STATE[action]
        if expected is not None and site.state == expected:
            logger.warning(
                "%s of %s: the answer was lost (%s) but the app is %s, so it was applied; not re-sent",
                action,
                target.label,
                type(exc).__name__,
                site.state,
            )
            return LifecycleResult(action, site, None, None, attempts, verified_by_state=True)
        raise AmbiguousOutcomeError(
            f"{action.capitalize()} of '{target.label}' failed mid-flight ({failure_facts(exc)}) "
            f"and may have been applied; the app is now {site.state}. It was not re-sent. "
            "Check the app, then clear the task to try again."
        ) from None
    site = get_site(client, target.resource_group, target.app_name, target.slot)
    return LifecycleResult(action, site, ids.request_id, ids.correlation_id, attempts)
