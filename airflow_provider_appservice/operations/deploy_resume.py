"""What a retried deploy task finds of the deployment it stored before a crash: one look at Kudu,
then at ARM's runtime status when Kudu says success, so it reconnects instead of deploying twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.operations.deploy_tracking import runtime_status
from airflow_provider_appservice.operations.kudu_status import KUDU_STATUSES, RUNTIME_FAILED, RUNTIME_SUCCEEDED
from airflow_provider_appservice.operations.targets import AppTarget

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

#: Statuses of a stored deployment that is still under way (reconnect and track it).
ACTIVE = frozenset({"Pending", "Building", "Deploying", "RuntimeStarting", "NotFoundYet"})
#: Statuses of a stored deployment that finished well.
SUCCEEDED = frozenset({"Success", "Complete"})


def stored_deployment_status(
    scm: PipelineClient,
    arm: WebSiteManagementClient,
    target: AppTarget,
    deployment_id: str,
    *,
    logger: logging.Logger | Any = log,
) -> tuple[str, str | None]:
    """``(status, final status)`` of a stored deployment; the final status is set only when it succeeded.

    A status Kudu cannot give now (an error answer) reads as ``NotFoundYet``: reconnect and let
    tracking decide, never redeploy blindly.
    """
    from azure.core.rest import HttpRequest

    response = scm.send_request(HttpRequest("GET", scm.format_url(f"/api/deployments/{deployment_id}")))
    if response.status_code == 404:
        return "NotFound", None
    if response.status_code >= 400:
        return "NotFoundYet", None
    body = response.json()
    status = body.get("status") if isinstance(body, dict) else None
    name = KUDU_STATUSES.get(status, "Unknown") if isinstance(status, int) else "Unknown"
    logger.info("Stored deployment %s: Kudu status %s", deployment_id, name)
    if name not in SUCCEEDED:
        return name, None
    code, props = runtime_status(arm, target, deployment_id)
    runtime = str((props or {}).get("status") or "") if code != 404 else ""
    if not runtime or runtime in RUNTIME_SUCCEEDED or (runtime == "BuildSuccessful" and (target.slot or code == 200)):
        return name, runtime or name
    if runtime in RUNTIME_FAILED:
        return runtime, None
    return "RuntimeStarting", None


def trusted_scm_host(label: str, arm_host: str, stored: object) -> str:
    """The SCM host a stored deployment (``task_state_store``) or a trigger's kwargs may be
    followed on: the one ARM reports now. A record that names another host — it can be rewritten
    through Airflow's API — is refused before any token is sent."""
    from airflow_provider_appservice.errors import TokenPinningError

    if stored and str(stored).lower().rstrip(".") != arm_host.lower():
        raise TokenPinningError(
            f"The stored deployment of {label} names SCM host '{str(stored)[:100]}', but ARM reports '{arm_host}': "
            "no token was sent. Clear the task to start again."
        )
    return arm_host
