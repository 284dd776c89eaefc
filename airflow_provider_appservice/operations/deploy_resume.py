"""What a retried deploy task finds of the deployment it stored before a crash: one look at Kudu,
then at ARM's runtime status when Kudu says success, so it reconnects instead of deploying twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.operations.deploy_tracking import runtime_status
from airflow_provider_appservice.operations.kudu_status import KUDU_STATUSES, RUNTIME_FAILED, RUNTIME_SUCCEEDED
from airflow_provider_appservice.operations.targets import AppTarget

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.mgmt.web import WebSiteManagementClient

    from airflow_provider_appservice.errors import AmbiguousOutcomeError

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


# -- the stored record: read back untrusted --------------------------------------------------------

#: How many deployment ids an intent keeps of what Kudu listed before the upload.
KNOWN_CAP = 200
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SOURCES = ("file", "folder", "url")


@dataclass(frozen=True)
class StoredDeploy:
    """A ``task_state_store`` record, checked. Without ``deployment_id`` it is an *intent*: an
    upload was about to start and Kudu's id was never stored (see :func:`since_intent`)."""

    raw: dict[str, Any]
    deployment_id: str | None
    content: str | None
    known: tuple[str, ...] = ()
    floor: str | None = None
    intent_at: float | None = None

    @property
    def is_intent(self) -> bool:
        return self.deployment_id is None


def read_record(record: object, key: str, fix: str) -> StoredDeploy:
    """Check a record read back from ``task_state_store`` (anyone with the task's edit permission
    may rewrite it) field by field; TaskArgumentError names the field before any call."""
    from airflow_provider_appservice.errors import TaskArgumentError
    from airflow_provider_appservice.operations.packages import DEPLOY_TYPES
    from airflow_provider_appservice.operations.targets import check_names

    def bad(field: str, problem: str) -> TaskArgumentError:
        return TaskArgumentError(f"task_state_store['{key}'].{field}", problem, fix)

    if not isinstance(record, dict):
        raise bad("", f"is a {type(record).__name__}, not a record this provider writes")
    deployment_id = record.get("deployment_id")
    check_names(deployment_id=deployment_id)
    for field in ("content", "checksum"):
        value = record.get(field)
        if value is not None and not (isinstance(value, str) and _HEX64.match(value)):
            raise bad(field, "is not a sha256 in hex")
    checks: dict[str, Callable[[Any], bool]] = {
        "scm_host": lambda v: isinstance(v, str) and 0 < len(v) <= 253,
        "resource_id": lambda v: isinstance(v, str) and v.lower().startswith("/subscriptions/") and len(v) <= 1000,
        "type": lambda v: v in DEPLOY_TYPES,
        "source": lambda v: v in _SOURCES,
        "kind": lambda v: isinstance(v, str) and len(v) <= 200,
        "bytes": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "uploaded_at": _is_time,
        "intent_at": _is_time,
        "floor": lambda v: _when(v) is not None,
        "known": lambda v: (
            isinstance(v, list) and len(v) <= KNOWN_CAP and all(isinstance(i, str) and 0 < len(i) <= 128 for i in v)
        ),
    }
    for field, ok in checks.items():
        if record.get(field) is not None and not ok(record[field]):
            raise bad(field, "does not have the shape this provider writes")
    return StoredDeploy(
        raw=dict(record),
        deployment_id=deployment_id,
        content=record.get("content"),
        known=tuple(record.get("known") or ()),
        floor=record.get("floor"),
        intent_at=record.get("intent_at"),
    )


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11


def _when(value: object) -> datetime | None:
    """Kudu's ``received_time`` (ISO 8601), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- what Kudu received: the evidence an intent is resolved with -----------------------------------


def list_deployments(scm: PipelineClient, target: AppTarget) -> list[dict[str, Any]]:
    """Kudu's ``GET /api/deployments`` (newest first), each entry a dict with a text ``id``."""
    from azure.core.rest import HttpRequest

    from airflow_provider_appservice.operations.deploy import json_body, scm_error

    response = scm.send_request(HttpRequest("GET", scm.format_url("/api/deployments")))
    if response.status_code >= 400:
        raise scm_error(f"Listing the deployments of '{target.label}'", target, response)
    body = json_body(response)
    if not isinstance(body, list):
        return []
    return [d for d in body if isinstance(d, dict) and isinstance(d.get("id"), str)]


def snapshot(deployments: list[dict[str, Any]]) -> dict[str, Any]:
    """What an intent keeps of Kudu's deployments before the upload: their ids (the newest
    :data:`KNOWN_CAP`) and, when some were left out, the oldest kept one's ``received_time``."""
    kept = deployments[:KNOWN_CAP]
    floor = None
    if len(deployments) > KNOWN_CAP:
        times = [t for t in (_when(d.get("received_time")) for d in kept) if t is not None]
        floor = min(times).isoformat() if times else None
    return {"known": [str(d["id"])[:128] for d in kept], "floor": floor}


def since_intent(deployments: list[dict[str, Any]], stored: StoredDeploy) -> list[dict[str, Any]]:
    """Deployments Kudu holds that it did not hold when the intent was written. Kudu's own times
    are compared with Kudu's own times only (worker clocks drift); an entry without a readable
    time counts as new."""
    floor = _when(stored.floor) if stored.floor else None
    known = set(stored.known)
    new = []
    for d in deployments:
        if d["id"] in known:
            continue
        received = _when(d.get("received_time"))
        if floor is None or received is None or received >= floor:
            new.append(d)
    return new


def ambiguity_error(
    label: str, scm_host: str, stored: StoredDeploy, new: list[dict[str, Any]], forget: str
) -> AmbiguousOutcomeError:
    """An earlier try stopped between starting its upload and storing Kudu's id, and Kudu has
    deployments it did not have before: one may be that upload. OneDeploy records no marker of
    the sender (its deployer and message are fixed), so none is adopted and nothing is sent."""
    from airflow_provider_appservice.errors import AmbiguousOutcomeError

    began = datetime.fromtimestamp(stored.intent_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if stored.intent_at else "?"
    listed = ", ".join(
        f"{str(d['id'])[:64]} (received {str(d.get('received_time'))[:40]}, status {str(d.get('status'))[:8]})"
        for d in new[:5]
    )
    more = f" and {len(new) - 5} more" if len(new) > 5 else ""
    return AmbiguousOutcomeError(
        f"Deploying to '{label}': an earlier try of this task began uploading this package (content sha256 "
        f"{(stored.content or '?')[:16]}…) at about {began} (the worker's clock) and stopped before Kudu's "
        f"deployment id was stored. Kudu has received {len(new)} deployment(s) since: {listed}{more}. OneDeploy "
        "records nothing that tells whose upload a deployment is, so this task neither adopts one nor uploads "
        f"again. Check https://{scm_host}/api/deployments for deployments received from about {began} on (each "
        "one's log is at /api/deployments/<id>/log). If one is this package: mark this task success. If none is: "
        f"{forget}, then clear the task: it uploads again."
    )
