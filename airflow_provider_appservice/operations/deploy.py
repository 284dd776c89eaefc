"""OneDeploy to an app or slot: the checks before uploading and the upload itself.

Plain functions that take clients (the ARM client and an SCM pipeline from
``transport.scm``) and know Kudu's shapes; nothing of Airflow. Following the deployment to its
end is :mod:`.deploy_tracking` (the drivers) around :mod:`.kudu_status` (the decisions).

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_appservice.boundary import AMBIGUOUS_STATUSES, classify, request_id_of, was_not_applied
from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.errors import (
    AmbiguousOutcomeError,
    AppServiceError,
    AzureRequestError,
    DeploymentRefused,
    DeploymentTimeout,
)
from airflow_provider_appservice.operations.packages import PackageSpec, StreamingReader, redact_url
from airflow_provider_appservice.operations.targets import AppTarget
from airflow_provider_appservice.transport.backoff import Backoff, parse_retry_after
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)

RUN_FROM_PACKAGE_SETTINGS = ("WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_USE_ZIP")
PERMANENT_409_MARKERS = ("run-from-zip", "website_run_from_package", "website_use_zip", "remote url")
NOT_APPLIED = frozenset({429, 503})
PUBLISH_ACTION = "publish/action"


class _Busy(Exception):
    """409 "deployment in progress" (or 429/503 before Kudu acted): wait, then upload again."""

    def __init__(self, status: int, headers: Mapping[str, str], text: str) -> None:
        self.status_code = status
        self.response = _Headers(headers)
        self.text = text
        self.request_id = request_id_of(self.response)
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


def json_body(response: Any) -> Any:
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
    check: Callable[[], None] | None = None,
) -> UploadResult:
    """Send the package once; on 409 "in progress" (or 429/503) wait within ``deadline`` (the
    clock's time) and send it again. Returns the deployment id (None: resolve via /latest).
    ``check`` runs before every chunk of a file (see :mod:`.orphan_guard`)."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    params = publish_params(spec, clean=clean, restart=restart)
    publish = _Publish(scm, target, spec, params, clock, logger, check)
    backoff = Backoff(initial=2.0, multiplier=2.0, cap=30.0, deadline=max(deadline - clock.now(), 0.0))
    try:
        for attempt in retrying(
            f"Upload to {target.label}",
            retry_on=_busy_or_not_sent,
            backoff=backoff,
            max_attempts=max_attempts,
            clock=clock,
            logger=logger,
        ):
            with attempt:
                return publish.send()
    except _Busy as exc:
        if exc.status_code == 409:
            raise DeploymentTimeout(
                f"Another deployment kept {target.label} busy (HTTP 409) past the timeout; nothing was deployed"
            ) from None
        raise AzureRequestError(
            f"Deploying to '{target.label}'",
            status=exc.status_code,
            code=None,
            message=f"Kudu kept answering HTTP {exc.status_code} (refused before acting; nothing was deployed): "
            f"{exc.text[:200]}",
            request_id=exc.request_id,
        ) from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        error = classify(f"Deploying to '{target.label}'", exc, idempotent=False)
        if isinstance(error, AmbiguousOutcomeError):
            raise AmbiguousOutcomeError(
                f"{error} A deployment may exist: see https://{target_host(scm)}/api/deployments."
            ) from None
        raise error from None
    finally:
        publish.close()
    raise AssertionError("unreachable")  # pragma: no cover


def _busy_or_not_sent(exc: BaseException) -> bool:
    # A reset after the body was sent may have made a deployment: never upload again blindly.
    return isinstance(exc, _Busy) or was_not_applied(exc)


class _Publish:
    """One ``POST /api/publish`` per :meth:`send`: the file streamed (rewound first) or the URL as JSON."""

    def __init__(
        self,
        scm: Any,
        target: AppTarget,
        spec: PackageSpec,
        params: dict[str, str],
        clock: Clock,
        logger: Any,
        check: Callable[[], None] | None = None,
    ) -> None:
        self.scm, self.target, self.params, self.clock, self.logger = scm, target, params, clock, logger
        self.url = scm.format_url("/api/publish")
        self.reader = StreamingReader(spec.path, logger=logger, check=check) if spec.path else None
        self.body = json.dumps({"packageUri": spec.url}) if spec.url else None
        self.uploads = 0

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def _request(self) -> Any:
        from azure.core.rest import HttpRequest

        if self.reader is not None:
            self.reader.rewind()
            return HttpRequest(
                "POST",
                self.url,
                params=self.params,
                content=cast(Any, self.reader),  # a file-like body: urllib3 reads it in chunks
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(self.reader.size)},
            )
        assert self.body is not None
        return HttpRequest(
            "POST", self.url, params=self.params, content=self.body, headers={"Content-Type": "application/json"}
        )

    def send(self) -> UploadResult:
        self.uploads += 1
        if self.uploads > 1:
            self.logger.info("Uploading the package to %s again (attempt %d)", self.target.label, self.uploads)
        started_at, t0 = time.time(), self.clock.now()
        response = self.scm.send_request(self._request())
        self._check(response)
        dep_id = response.headers.get("SCM-DEPLOYMENT-ID") or response.headers.get("scm-deployment-id")
        reader = self.reader
        if reader is not None:
            reader.log_progress()
        return UploadResult(
            deployment_id=dep_id or None,
            checksum=reader.checksum if reader is not None else None,
            bytes=reader.sent if reader is not None else 0,
            seconds=self.clock.now() - t0,
            uploads=self.uploads,
            started_at=started_at,
            retry_after=parse_retry_after(response.headers),
        )

    def _check(self, response: Any) -> None:
        """Raise for an answer that is not a 2xx: busy (retried), refused, ambiguous or an SCM error."""
        status, label = response.status_code, self.target.label
        if status == 409:
            text = _text(response)
            if _permanent_conflict(text):
                raise DeploymentRefused(f"Deploying to '{label}'", status=409, code="Conflict", message=text)
            self.logger.warning(
                "Kudu on %s answered 409: %s Another deployment is in progress; waiting for it to finish, "
                "then uploading again",
                label,
                text or "(no text)",
            )
            raise _Busy(status, response.headers, text)
        if status in NOT_APPLIED:
            raise _Busy(status, response.headers, _text(response))
        if status in AMBIGUOUS_STATUSES:
            raise AmbiguousOutcomeError(
                f"Deploying to '{label}': Kudu answered HTTP {status} after receiving the package "
                f"(request id {request_id_of(response) or 'n/a'}), so a deployment may have started. It was "
                f"not uploaded again. See https://{target_host(self.scm)}/api/deployments, then clear the task to "
                "deploy again if none is running"
            )
        if status >= 400:
            raise scm_error(f"Deploying to '{label}'", self.target, response)


def describe_source(spec: PackageSpec) -> str:
    if spec.url:
        return f"URL {redact_url(spec.url)}"
    return f"{spec.path} ({spec.size / 1e6:.1f} MB)"
