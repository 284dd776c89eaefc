"""Following a deployment to a bounded end: the sync and async drivers around
:class:`~.kudu_status.DeploymentTracker`.

Each driver sends the one status request the tracker names (Kudu by id on ``https://<scm>``,
``/api/deployments/latest`` while the id is unknown, or ARM's runtime ``deploymentStatus/{id}``),
feeds the answer back, logs what it says and sleeps what it says on the hook's clock. The worker
uses :func:`track` and :func:`resolve_deployment_id`, the sensor :func:`poke_deployment`, the
trigger :func:`atrack`. Nothing here knows Airflow.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify
from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.errors import DeploymentTimeout
from airflow_provider_appservice.operations.deploy import json_body, scm_error
from airflow_provider_appservice.operations.deploy_outcome import log_url_of
from airflow_provider_appservice.operations.kudu_log import LogFollower
from airflow_provider_appservice.operations.kudu_status import DeploymentTracker, Outcome, Phase
from airflow_provider_appservice.operations.targets import AppTarget
from airflow_provider_appservice.transport.backoff import parse_retry_after

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient, PipelineClient
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _runtime_call(target: AppTarget, deployment_id: str) -> tuple[str, tuple[Any, ...]]:
    if target.slot:
        return "begin_get_slot_site_deployment_status_slot", (
            target.resource_group,
            target.app_name,
            target.slot,
            deployment_id,
        )
    return "begin_get_production_site_deployment_status", (target.resource_group, target.app_name, deployment_id)


def _raw(pipeline_response: Any, _deserialized: Any, _headers: Any) -> tuple[int, Any]:
    response = pipeline_response.http_response
    return response.status_code, json_body(response)


def _runtime_props(body: Any) -> Mapping[str, Any] | None:
    if isinstance(body, Mapping):
        props = body.get("properties")
        return props if isinstance(props, Mapping) else {}
    return {}


def runtime_status(client: WebSiteManagementClient, target: AppTarget, deployment_id: str) -> tuple[int, Any]:
    """(HTTP status, ``properties``) of ARM ``deploymentStatus/{id}``; (404, None) when not offered.

    The SDK's ``begin_*`` would return the first body and never poll (the 202 has no Location),
    so it runs without polling and the tracker decides when to ask again."""
    from azure.core.exceptions import HttpResponseError

    method, args = _runtime_call(target, deployment_id)
    try:
        poller = getattr(client.web_apps, method)(*args, polling=False, cls=_raw)
        status, body = poller.result()
    except HttpResponseError as exc:
        if exc.status_code == 404:
            return 404, None
        raise
    return status, _runtime_props(body)


async def aruntime_status(client: Any, target: AppTarget, deployment_id: str) -> tuple[int, Any]:
    """Async twin of :func:`runtime_status` (``client`` is the aio ARM client)."""
    from azure.core.exceptions import HttpResponseError

    method, args = _runtime_call(target, deployment_id)
    try:
        poller = await getattr(client.web_apps, method)(*args, polling=False, cls=_raw)
        status, body = await poller.result()
    except HttpResponseError as exc:
        if exc.status_code == 404:
            return 404, None
        raise
    return status, _runtime_props(body)


def _kudu_path(tracker: DeploymentTracker) -> str:
    if tracker.phase is Phase.RESOLVE:
        return "/api/deployments/latest"
    return f"/api/deployments/{tracker.deployment_id}"


def _feed_kudu(tracker: DeploymentTracker, target: AppTarget, response: Any) -> list[str]:
    status = response.status_code
    retry_after = parse_retry_after(response.headers)
    if status in (401, 403):
        raise scm_error(f"Reading the deployment status of '{target.label}'", target, response)
    if status in TRANSIENT_STATUS:
        return tracker.on_transient(f"HTTP {status}", retry_after)
    body = json_body(response) if status < 400 else None
    if tracker.phase is Phase.RESOLVE:
        return tracker.on_latest(status, body if isinstance(body, Mapping) else None, retry_after)
    if status >= 400 and status != 404:
        raise scm_error(f"Reading deployment {tracker.deployment_id} of '{target.label}'", target, response)
    return tracker.on_kudu(status, body if isinstance(body, Mapping) else None, retry_after)


def _on_poll_error(tracker: Any, target: AppTarget, deployment_id: str | None, exc: Exception) -> list[str]:
    """A failed status poll: transient failures are the tracker's to count; others end the wait."""
    from azure.core.exceptions import HttpResponseError

    if not isinstance(exc, HttpResponseError):
        return list(tracker.on_transient(type(exc).__name__))
    if exc.status_code in TRANSIENT_STATUS:
        return list(tracker.on_transient(f"HTTP {exc.status_code}"))
    raise classify(
        f"Reading the runtime status of deployment {deployment_id} on '{target.label}'",
        exc,
        required_action=target.action("deploymentStatus/read"),
    ) from None


def _feed_runtime(tracker: DeploymentTracker, target: AppTarget, answer: tuple[int, Any]) -> list[str]:
    status, props = answer
    return tracker.on_runtime(status, props if status != 404 else None)


def _https_path(url: str, scm_base: str) -> str:
    """Kudu's own links may say http://…:80; read the same path on the https SCM host."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{scm_base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _log_reads(
    base: str, tracker: DeploymentTracker, follower: LogFollower, logger: logging.Logger | Any, final: bool
) -> Generator[str, Any, None]:
    """What reading the deployment log means, without I/O: yields each path to GET and is sent its
    JSON body (None unless 200); logs the new lines. :func:`read_log` and :func:`aread_log` only
    do the requests."""
    url = log_url_of(base, tracker)
    if not url:
        return
    entries = yield _https_path(url, base)
    if not isinstance(entries, list):
        return
    lines, details = follower.on_entries([e for e in entries if isinstance(e, Mapping)], final=final)
    for line in lines:
        logger.info("Kudu log: %s", line)
    for detail_url in details:
        sub = yield _https_path(detail_url, base)
        if isinstance(sub, list):
            for line in follower.on_details([e for e in sub if isinstance(e, Mapping)]):
                logger.info("Kudu log: %s", line)


def read_log(
    scm: PipelineClient, tracker: DeploymentTracker, follower: LogFollower, logger: logging.Logger | Any, final: bool
) -> None:
    """Log the deployment log's new lines (errors reading it are logged, never fatal)."""
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    reads = _log_reads(scm.format_url(""), tracker, follower, logger, final)
    try:
        path = next(reads)
        while True:
            response = scm.send_request(HttpRequest("GET", path))
            path = reads.send(json_body(response) if response.status_code == 200 else None)
    except StopIteration:
        return
    except AzureError as exc:
        logger.warning("Could not read the deployment log (%s); continuing", type(exc).__name__)


def step_once(
    scm: PipelineClient,
    arm: WebSiteManagementClient | None,
    target: AppTarget,
    tracker: DeploymentTracker,
    *,
    logger: logging.Logger | Any = log,
    follower: LogFollower | None = None,
) -> None:
    """Send the one status request the tracker asks for, feed it the answer, log what changed."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    from azure.core.rest import HttpRequest

    step = tracker.step()
    try:
        if step.phase is Phase.RUNTIME:
            assert step.deployment_id is not None and arm is not None
            messages = _feed_runtime(tracker, target, runtime_status(arm, target, step.deployment_id))
        else:
            response = scm.send_request(HttpRequest("GET", scm.format_url(_kudu_path(tracker))))
            messages = _feed_kudu(tracker, target, response)
    except (ServiceRequestError, ServiceResponseError, HttpResponseError) as exc:
        messages = _on_poll_error(tracker, target, step.deployment_id, exc)
    for message in messages:
        logger.info("%s: %s", target.label, message)
    if follower is not None and tracker.wants_log:
        read_log(scm, tracker, follower, logger, final=tracker.finished)


def track(
    scm: PipelineClient,
    arm: WebSiteManagementClient,
    target: AppTarget,
    tracker: DeploymentTracker,
    *,
    clock: Clock,
    logger: logging.Logger | Any = log,
    follower: LogFollower | None = None,
) -> Outcome:
    """Poll until the tracker has an outcome (success, failure or its deadline)."""

    follower = follower or LogFollower()
    while True:
        wait = tracker.next_wait(clock.now())
        if wait is None:
            break
        if wait > 0:
            clock.sleep(wait)
        step_once(scm, arm, target, tracker, logger=logger, follower=follower)
    assert tracker.outcome is not None
    if not tracker.outcome.succeeded and tracker.deployment_id:
        read_log(scm, tracker, follower, logger, final=True)
    return tracker.outcome


# -- tracking (async, for the trigger) -----------------------------------------------------------


async def aread_log(
    scm: AsyncPipelineClient, tracker: DeploymentTracker, follower: LogFollower, logger: Any, final: bool
) -> None:
    """Async twin of :func:`read_log`: the same reads (:func:`_log_reads`), awaited."""
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    reads = _log_reads(scm.format_url(""), tracker, follower, logger, final)
    try:
        path = next(reads)
        while True:
            response = await scm.send_request(HttpRequest("GET", path))
            await response.read()
            path = reads.send(json_body(response) if response.status_code == 200 else None)
    except StopIteration:
        return
    except AzureError as exc:
        logger.warning("Could not read the deployment log (%s); continuing", type(exc).__name__)


async def atrack(
    scm: AsyncPipelineClient,
    arm: Any,
    target: AppTarget,
    tracker: DeploymentTracker,
    *,
    clock: Clock,
    logger: Any = log,
    follower: LogFollower | None = None,
) -> Outcome:
    """Async twin of :func:`track`: the same tracker and clock, its async sleep between requests."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    from azure.core.rest import HttpRequest

    follower = follower or LogFollower()
    while True:
        wait = tracker.next_wait(clock.now())
        if wait is None:
            break
        if wait > 0:
            await clock.asleep(wait)
        step = tracker.step()
        try:
            if step.phase is Phase.RUNTIME:
                assert step.deployment_id is not None
                messages = _feed_runtime(tracker, target, await aruntime_status(arm, target, step.deployment_id))
            else:
                response = await scm.send_request(HttpRequest("GET", scm.format_url(_kudu_path(tracker))))
                await response.read()
                messages = _feed_kudu(tracker, target, response)
        except (ServiceRequestError, ServiceResponseError, HttpResponseError) as exc:
            messages = _on_poll_error(tracker, target, step.deployment_id, exc)
        for message in messages:
            logger.info("%s: %s", target.label, message)
        if tracker.wants_log:
            await aread_log(scm, tracker, follower, logger, final=tracker.finished)
    assert tracker.outcome is not None
    if not tracker.outcome.succeeded and tracker.deployment_id:
        await aread_log(scm, tracker, follower, logger, final=True)
    return tracker.outcome


def resolve_deployment_id(
    scm: PipelineClient,
    target: AppTarget,
    tracker: DeploymentTracker,
    *,
    clock: Clock,
    logger: logging.Logger | Any = log,
) -> str:
    """Read ``/api/deployments/latest`` until the id of the upload shows (tracking starts after it is stored)."""
    while tracker.deployment_id is None and not tracker.finished:
        wait = tracker.next_wait(clock.now())
        if wait is None:
            break
        clock.sleep(wait)
        step_once(scm, None, target, tracker, logger=logger)
    if tracker.deployment_id is None:
        raise DeploymentTimeout(
            f"The package was uploaded to {target.label} but its deployment id never appeared on "
            "/api/deployments/latest; check the app's Deployment Center"
        )
    return tracker.deployment_id


def poke_deployment(
    scm: PipelineClient,
    arm: WebSiteManagementClient,
    target: AppTarget,
    tracker: DeploymentTracker,
    follower: LogFollower,
    *,
    next_poke_at: float | None = None,
    logger: logging.Logger | Any = log,
) -> Outcome | None:
    """One poke: a status request, and at once the next while the tracker says one is due (a phase
    just changed); the outcome when tracking ended, with the log read to its end on a failure.
    ``next_poke_at`` (the clock's time of the next poke): past the deadline, tracking ends now."""
    step_once(scm, arm, target, tracker, logger=logger, follower=follower)
    while tracker.due_now:
        step_once(scm, arm, target, tracker, logger=logger, follower=follower)
    if next_poke_at is not None:
        tracker.expire_by(next_poke_at)
    if tracker.outcome is not None and not tracker.outcome.succeeded:
        read_log(scm, tracker, follower, logger, final=True)
    return tracker.outcome
