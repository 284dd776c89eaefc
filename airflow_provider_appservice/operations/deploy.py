"""OneDeploy to an app or slot, and tracking a deployment to a bounded end (sync and async).

Plain functions that take clients (the ARM client and an SCM pipeline from
``transport.scm``) and know Kudu's shapes; nothing of Airflow. The decisions (finished? what
next? how long to wait?) are :mod:`kudu_status`'s; these are the drivers that do the I/O.

- The SCM host is the site's ``Repository`` host name, reached with the ARM bearer token
  (pinned to it): publishing credentials are never fetched, so SCM basic auth may be off.
- Upload: ``POST /api/publish?type=&path=&restart=&clean=&async=true&trackDeploymentProgress=true``,
  the body streamed from disk (sha256 computed on the way), or ``{"packageUri": ...}``.
- 202: the id is ``SCM-DEPLOYMENT-ID`` or, failing that, ``/api/deployments/latest``; the
  ``Location`` (possibly ``http://…:80``) is never followed: status is read by id on
  ``https://<scm>``.
- 409 "deployment in progress" is waited out (tenacity, within the deadline) and the upload
  sent again; the run-from-package 409 fails at once with Kudu's text.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_appservice.boundary import AMBIGUOUS_STATUSES, classify, request_id_of, was_not_applied
from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.errors import (
    AmbiguousOutcomeError,
    AppServiceError,
    DeploymentFailed,
    DeploymentRefused,
    DeploymentTimeout,
)
from airflow_provider_appservice.operations.kudu_status import DeploymentTracker, LogFollower, Outcome, Phase
from airflow_provider_appservice.operations.packages import PackageSpec, StreamingReader, redact_url
from airflow_provider_appservice.operations.targets import AppTarget
from airflow_provider_appservice.transport.backoff import Backoff, parse_retry_after
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient, PipelineClient
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

RUN_FROM_PACKAGE_SETTINGS = ("WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_USE_ZIP")
PERMANENT_409_MARKERS = ("run-from-zip", "website_run_from_package", "website_use_zip", "remote url")
NOT_APPLIED = frozenset({429, 503})
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
PUBLISH_ACTION = "publish/action"


class _Busy(Exception):
    """409 "deployment in progress" (or 429/503 before Kudu acted): wait, then upload again."""

    def __init__(self, status: int, headers: Mapping[str, str], text: str) -> None:
        self.status_code = status
        self.response = _Headers(headers)
        self.text = text
        super().__init__(f"HTTP {status}")


@dataclass
class _Headers:
    headers: Mapping[str, str]


@dataclass(frozen=True)
class UploadResult:
    deployment_id: str | None
    checksum: str | None
    bytes: int
    seconds: float
    uploads: int
    started_at: float  # epoch seconds the (last) upload began
    retry_after: float | None


# -- checks before uploading ---------------------------------------------------------------------


def check_run_from_package(client: WebSiteManagementClient, target: AppTarget) -> None:
    """Refuse when ``WEBSITE_RUN_FROM_PACKAGE`` (or ``WEBSITE_USE_ZIP``) points at a URL: Kudu
    would answer a permanent 409 after the whole upload. Values are never logged."""
    from airflow_provider_appservice.operations.settings import read_app_settings

    settings = read_app_settings(client, target)
    for name in RUN_FROM_PACKAGE_SETTINGS:
        value = str(settings.get(name) or "").strip().lower()
        if value.startswith(("http://", "https://")):
            raise DeploymentRefused(
                f"Deploying to '{target.label}'",
                status=None,
                code="RunFromPackageUrl",
                message=(
                    f"app setting {name} points at a URL, so the app runs from that package and Kudu refuses "
                    "deployments (it would answer 409). Remove the setting, or set it to 1 to run from a "
                    "deployed package, or publish by updating the URL instead"
                ),
            )


# -- SCM helpers ---------------------------------------------------------------------------------


def _json(response: Any) -> Any:
    try:
        return response.json()
    except (ValueError, TypeError):
        return None


def _text(response: Any, limit: int = 500) -> str:
    try:
        return str(response.text())[:limit].strip()
    except Exception:
        return ""


def scm_error(action: str, target: AppTarget, response: Any) -> AppServiceError:
    """A non-2xx SCM answer through the one boundary, with Kudu's fixes (bodies are text or JSON)."""
    from airflow_provider_appservice.boundary import classify_response

    hints = {
        401: "Kudu did not accept the connection's Entra token (an ARM token of the app's tenant). "
        "Check the connection's tenant and subscription",
        403: f"Grant the identity a role that allows '{target.action(PUBLISH_ACTION)}', e.g. the built-in role "
        "'Website Contributor' on the app",
    }
    return classify_response(action, response, hint=hints.get(response.status_code))


def target_host(scm: Any) -> str:
    """The SCM host a pipeline client is bound to (for messages that point at Kudu's pages)."""
    from urllib.parse import urlsplit

    return urlsplit(scm.format_url("/")).hostname or "the SCM site"


def _permanent_conflict(text: str) -> bool:
    lower = text.lower()
    return any(marker in lower for marker in PERMANENT_409_MARKERS)


def publish_params(spec: PackageSpec, *, clean: bool | None, restart: bool | None) -> dict[str, str]:
    params = {"type": spec.type, "async": "true", "trackDeploymentProgress": "true"}
    if spec.target_path:
        params["path"] = spec.target_path
    if clean is not None:
        params["clean"] = "true" if clean else "false"
    if restart is not None:
        params["restart"] = "true" if restart else "false"
    return params


def upload(
    scm: PipelineClient,
    target: AppTarget,
    spec: PackageSpec,
    *,
    clean: bool | None,
    restart: bool | None,
    deadline: float,
    clock: Clock,
    logger: logging.Logger | Any = log,
    max_attempts: int = 1000,
) -> UploadResult:
    """Send the package once; on 409 "in progress" (or 429/503) wait within ``deadline`` (the
    clock's time) and send it again. Returns the deployment id (None: resolve via /latest)."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from azure.core.rest import HttpRequest

    params = publish_params(spec, clean=clean, restart=restart)
    url = scm.format_url("/api/publish")
    reader = StreamingReader(spec.path, logger=logger) if spec.path else None
    body = json.dumps({"packageUri": spec.url}) if spec.url else None
    uploads = 0
    started_at = time.time()
    t0 = clock.now()

    def busy_or_not_sent(exc: BaseException) -> bool:
        # A reset after the body was sent may have made a deployment: never upload again blindly.
        return isinstance(exc, _Busy) or was_not_applied(exc)

    remaining = max(deadline - clock.now(), 0.0)
    backoff = Backoff(initial=2.0, multiplier=2.0, cap=30.0, deadline=remaining)
    try:
        for attempt in retrying(
            f"Upload to {target.label}",
            retry_on=busy_or_not_sent,
            backoff=backoff,
            max_attempts=max_attempts,
            clock=clock,
            logger=logger,
        ):
            with attempt:
                uploads += 1
                if uploads > 1:
                    logger.info("Uploading the package to %s again (attempt %d)", target.label, uploads)
                started_at = time.time()
                t0 = clock.now()
                if reader is not None:
                    reader.rewind()
                    request = HttpRequest(
                        "POST",
                        url,
                        params=params,
                        content=cast(Any, reader),  # a file-like body: urllib3 reads it in chunks
                        headers={"Content-Type": "application/octet-stream", "Content-Length": str(reader.size)},
                    )
                else:
                    assert body is not None
                    request = HttpRequest(
                        "POST", url, params=params, content=body, headers={"Content-Type": "application/json"}
                    )
                response = scm.send_request(request)
                status = response.status_code
                if status == 409:
                    text = _text(response)
                    if _permanent_conflict(text):
                        raise DeploymentRefused(
                            f"Deploying to '{target.label}'", status=409, code="Conflict", message=text
                        )
                    logger.warning(
                        "Kudu on %s answered 409: %s Another deployment is in progress; waiting for it to finish, "
                        "then uploading again",
                        target.label,
                        text or "(no text)",
                    )
                    raise _Busy(status, response.headers, text)
                if status in NOT_APPLIED:
                    raise _Busy(status, response.headers, _text(response))
                if status in AMBIGUOUS_STATUSES:
                    raise AmbiguousOutcomeError(
                        f"Deploying to '{target.label}': Kudu answered HTTP {status} after receiving the package "
                        f"(request id {request_id_of(response) or 'n/a'}), so a deployment may have started. It was "
                        f"not uploaded again. See https://{target_host(scm)}/api/deployments, then clear the task to "
                        "deploy again if none is running"
                    )
                if status >= 400:
                    raise scm_error(f"Deploying to '{target.label}'", target, response)
                dep_id = response.headers.get("SCM-DEPLOYMENT-ID") or response.headers.get("scm-deployment-id")
                retry_after = parse_retry_after(response.headers)
                if reader is not None:
                    reader.log_progress()
                return UploadResult(
                    deployment_id=dep_id or None,
                    checksum=reader.checksum if reader is not None else None,
                    bytes=reader.sent if reader is not None else 0,
                    seconds=clock.now() - t0,
                    uploads=uploads,
                    started_at=started_at,
                    retry_after=retry_after,
                )
    except _Busy as exc:
        if exc.status_code == 409:
            raise DeploymentTimeout(
                f"Another deployment kept {target.label} busy (HTTP 409) past the timeout; nothing was deployed"
            ) from None
        raise AppServiceError(f"Kudu on {target.label} kept answering HTTP {exc.status_code}: {exc.text}") from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        error = classify(f"Deploying to '{target.label}'", exc, idempotent=False)
        if isinstance(error, AmbiguousOutcomeError):
            raise AmbiguousOutcomeError(
                f"{error} A deployment may exist: see https://{target_host(scm)}/api/deployments."
            ) from None
        raise error from None
    finally:
        if reader is not None:
            reader.close()
    raise AssertionError("unreachable")  # pragma: no cover


# -- tracking (sync) -----------------------------------------------------------------------------


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
    return response.status_code, _json(response)


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
    body = _json(response) if status < 400 else None
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


def _feed_runtime(tracker: DeploymentTracker, target: AppTarget, answer: tuple[int, Any]) -> list[str]:
    status, props = answer
    return tracker.on_runtime(status, props if status != 404 else None)


def _log_url(scm_base: str, tracker: DeploymentTracker) -> str | None:
    if tracker.log_url:
        return tracker.log_url
    if tracker.deployment_id:
        return f"{scm_base}/api/deployments/{tracker.deployment_id}/log"
    return None


def _https_path(url: str, scm_base: str) -> str:
    """Kudu's own links may say http://…:80; read the same path on the https SCM host."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{scm_base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def read_log(
    scm: PipelineClient, tracker: DeploymentTracker, follower: LogFollower, logger: logging.Logger | Any, final: bool
) -> None:
    """Log the deployment log's new lines (errors reading it are logged, never fatal)."""
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    base = scm.format_url("")
    url = _log_url(base, tracker)
    if not url:
        return
    try:
        response = scm.send_request(HttpRequest("GET", _https_path(url, base)))
        entries = _json(response) if response.status_code == 200 else None
        if not isinstance(entries, list):
            return
        lines, details = follower.on_entries([e for e in entries if isinstance(e, Mapping)], final=final)
        for line in lines:
            logger.info("Kudu log: %s", line)
        for detail_url in details:
            r = scm.send_request(HttpRequest("GET", _https_path(detail_url, base)))
            sub = _json(r) if r.status_code == 200 else None
            if isinstance(sub, list):
                for line in follower.on_details([e for e in sub if isinstance(e, Mapping)]):
                    logger.info("Kudu log: %s", line)
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


def raise_for_outcome(
    outcome: Outcome, target: AppTarget, tracker: DeploymentTracker, scm_base: str, last_lines: list[str]
) -> None:
    """Turn a failed or timed-out outcome into the error the task fails with."""
    if outcome.succeeded:
        return
    log_url = _log_url(scm_base, tracker)
    where = f"deployment {tracker.deployment_id}" if tracker.deployment_id else "the deployment"
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


# -- tracking (async, for the trigger) -----------------------------------------------------------


async def aread_log(
    scm: AsyncPipelineClient, tracker: DeploymentTracker, follower: LogFollower, logger: Any, final: bool
) -> None:
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    base = scm.format_url("")
    url = _log_url(base, tracker)
    if not url:
        return
    try:
        response = await scm.send_request(HttpRequest("GET", _https_path(url, base)))
        await response.read()
        entries = _json(response) if response.status_code == 200 else None
        if not isinstance(entries, list):
            return
        lines, details = follower.on_entries([e for e in entries if isinstance(e, Mapping)], final=final)
        for line in lines:
            logger.info("Kudu log: %s", line)
        for detail_url in details:
            r = await scm.send_request(HttpRequest("GET", _https_path(detail_url, base)))
            await r.read()
            sub = _json(r) if r.status_code == 200 else None
            if isinstance(sub, list):
                for line in follower.on_details([e for e in sub if isinstance(e, Mapping)]):
                    logger.info("Kudu log: %s", line)
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


def describe_source(spec: PackageSpec) -> str:
    if spec.url:
        return f"URL {redact_url(spec.url)}"
    return f"{spec.path} ({spec.size / 1e6:.1f} MB)"
