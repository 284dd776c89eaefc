"""Deploy a package to an App Service app or slot with OneDeploy, and wait for it to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import ResumableJobMixin, conf

from airflow_provider_appservice.common.assets import APP_SERVICE_ASSET_ALIAS, emit_slot_events
from airflow_provider_appservice.common.templated import as_bool, as_seconds
from airflow_provider_appservice.links.deployment_log import DEPLOYMENT_LOG_URL_KEY, AppServiceDeploymentLogLink
from airflow_provider_appservice.links.portal import AppServicePortalLink
from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.deploy import UploadResult
    from airflow_provider_appservice.operations.kudu_status import DeploymentTracker
    from airflow_provider_appservice.operations.sites import SiteInfo

STATE_KEY = "appservice_deployment"


def _mask_package(package: Any) -> None:
    from airflow.sdk.log import mask_secret

    from airflow_provider_appservice.operations.packages import is_url, sas_secrets

    if isinstance(package, str) and is_url(package):
        for secret in sas_secrets(package):
            mask_secret(secret)


class AppServiceDeployOperator(ResumableJobMixin, AppServiceBaseOperator):
    """Deploy a file, a folder (zipped on the fly) or an https URL with OneDeploy, then wait.

    The SCM (Kudu) site is reached with the connection's Entra token, so it works where SCM
    basic auth is disabled; the upload is streamed from disk and its sha256 computed on the way.
    Tracking follows Kudu's status by id and the platform's runtime status (where offered) until
    success, failure or ``timeout``; the deployment id is kept in Airflow's task state store
    before tracking starts, so a retry after a worker crash reconnects instead of deploying twice.

    :param package: a file, a folder or an ``https://`` URL (Kudu fetches it; a blob SAS ``sig``
        is masked in logs from render time on). Templated.
    :param type: ``zip``, ``war``, ``jar``, ``ear``, ``static`` or ``startup``; inferred from the
        name when None (folders are zips; a single other file is ``static``).
    :param target_path: where under the app to put it (OneDeploy ``path``).
    :param clean: delete files the package does not have (Kudu's default: True for zip).
    :param restart: restart the app after deploying (Kudu's default: True).
    :param wait_for_completion: wait for the deployment to end (else return after the upload).
    :param timeout: seconds to wait in all (busy-waiting on another deployment included).
    :param poll_interval: fixed seconds between status requests; None grows 2, 4, 8, 16, then
        every 30 s (a 5-minute deployment costs about 13 status requests). Retry-After is a floor.
    :param deferrable: upload in the worker, wait in the triggerer.
    """

    template_fields: Sequence[str] = (
        *AppServiceBaseOperator.template_fields,
        "package",
        "type",
        "target_path",
        "clean",
        "restart",
        "timeout",
        "poll_interval",
    )
    operator_extra_links = (AppServicePortalLink(), AppServiceDeploymentLogLink())  # type: ignore[assignment]
    ui_color = "#b6e0fe"
    external_id_key = STATE_KEY

    def __init__(
        self,
        *,
        package: str,
        type: str | None = None,
        target_path: str | None = None,
        clean: bool | None = None,
        restart: bool | None = None,
        wait_for_completion: bool = True,
        timeout: float = 1800,
        poll_interval: float | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        from airflow.sdk import AssetAlias

        kwargs.setdefault("outlets", [AssetAlias(name=APP_SERVICE_ASSET_ALIAS)])
        super().__init__(**kwargs)
        self.package = package
        self.type = type
        self.target_path = target_path
        self.clean = clean
        self.restart = restart
        self.wait_for_completion = wait_for_completion
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        _mask_package(package)

    # --- secrets ----------------------------------------------------------------------------

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Mask a SAS ``sig`` right after rendering: the rendered fields go to the API server next."""
        super().render_template_fields(context, jinja_env)
        _mask_package(self.package)

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _timeout(self) -> float:
        value = as_seconds(self.timeout, "timeout")
        return 1800.0 if value is None else value

    @property
    def _interval(self) -> float | None:
        return as_seconds(self.poll_interval, "poll_interval")

    def _site(self) -> SiteInfo:
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.operations.sites import get_site

        target = self.target
        site = get_site(self.hook.get_conn(), target.resource_group, target.app_name, target.slot)
        if not site.scm_host_name:
            raise AppServiceError(f"{target.label} reports no SCM (Kudu) host name; it cannot take OneDeploy")
        return site

    def _scm(self, scm_host: str) -> Any:
        return self.hook.get_scm_client(scm_host)  # cached on the hook: one pipeline per task

    def _stored_scm(self, state: dict[str, Any]) -> Any:
        """The SCM pipeline for a stored deployment, to the host ARM reports now (never the record's)."""
        from airflow_provider_appservice.operations.deploy_resume import trusted_scm_host

        return self._scm(trusted_scm_host(self.target.label, str(self._site().scm_host_name), state.get("scm_host")))

    def _tracker(
        self, deployment_id: str | None, timeout: float, *, not_before: float | None = None
    ) -> DeploymentTracker:
        from airflow_provider_appservice.operations.kudu_status import DeploymentTracker

        return DeploymentTracker(
            deployment_id,
            slot=bool(self.target.slot),
            started=self.hook.clock.now(),
            timeout=timeout,
            interval=self._interval,
            not_before=not_before,
        )

    def _remaining(self) -> float:
        started = getattr(self, "_started", None)
        if started is None:
            return self._timeout
        return max(self._timeout - (self.hook.clock.now() - started), 0.0)

    # --- execution --------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        self._started = self.hook.clock.now()
        with self.hook:  # closes the ARM and SCM clients of this run
            return self.execute_resumable(context)

    def submit_job(self, context: Context) -> dict[str, Any]:
        """Check the app, upload the package, and return what the state store keeps (no secret)."""
        from airflow_provider_appservice.operations.deploy import check_run_from_package
        from airflow_provider_appservice.operations.deploy_tracking import resolve_deployment_id

        target = self.target
        site = self._site()
        self.push_portal_link(context, site.resource_id)
        check_run_from_package(self.hook.get_conn(), target)
        scm = self._scm(str(site.scm_host_name))
        result, package_type, source = self._upload(scm, site)
        deployment_id = result.deployment_id
        if deployment_id is None:
            self.log.info("Kudu sent no SCM-DEPLOYMENT-ID; reading the id from /api/deployments/latest")
            tracker = self._tracker(None, self._remaining(), not_before=result.started_at)
            deployment_id = resolve_deployment_id(scm, target, tracker, clock=self.hook.clock, logger=self.log)
        self.log.info("Deployment %s accepted by %s", deployment_id, target.label)
        return {
            "deployment_id": deployment_id,
            "checksum": result.checksum,
            "bytes": result.bytes,
            "type": package_type,
            "source": source,
            "scm_host": site.scm_host_name,
            "resource_id": site.resource_id,
            "kind": site.kind,
            "uploaded_at": result.started_at,
        }

    def _upload(self, scm: Any, site: SiteInfo) -> tuple[UploadResult, str, str]:
        """Prepare the package (a folder is zipped), upload it; returns the result, its type and source kind."""
        from airflow_provider_appservice.operations.deploy import describe_source, upload
        from airflow_provider_appservice.operations.packages import prepare_package

        target = self.target
        source = "url" if str(self.package).strip().lower().startswith("https://") else "file"
        with prepare_package(str(self.package), self.type or None, self.target_path or None, logger=self.log) as spec:
            source = "folder" if spec.temporary else source
            self.log.info(
                "Deploying %s as type '%s'%s to %s (%s, SCM host %s)",
                describe_source(spec),
                spec.type,
                f" at path '{spec.target_path}'" if spec.target_path else "",
                target.label,
                site.kind,
                site.scm_host_name,
            )
            result = upload(
                scm,
                target,
                spec,
                clean=as_bool(self.clean),
                restart=as_bool(self.restart),
                deadline=self._started + self._timeout,
                clock=self.hook.clock,
                logger=self.log,
            )
        if result.bytes:
            self.log.info(
                "Uploaded %.1f MB in %.1fs; sha256 %s", result.bytes / 1e6, result.seconds, result.checksum or "n/a"
            )
        return result, spec.type, source

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """One look at a stored deployment (Kudu, then ARM runtime when Kudu says success)."""
        from airflow_provider_appservice.operations.deploy_resume import stored_deployment_status
        from airflow_provider_appservice.operations.targets import check_names

        state = dict(external_id or {})
        deployment_id = state.get("deployment_id")
        if not deployment_id:
            return "Unknown"
        check_names(deployment_id=deployment_id)  # read back from task_state_store: untrusted
        scm = self._stored_scm(state)
        status, resumed = stored_deployment_status(
            scm, self.hook.get_conn(), self.target, str(deployment_id), logger=self.log
        )
        if resumed is not None:
            self._resumed_status = resumed
        return status

    def is_job_active(self, status: str) -> bool:
        from airflow_provider_appservice.operations.deploy_resume import ACTIVE

        return status in ACTIVE

    def is_job_succeeded(self, status: str) -> bool:
        from airflow_provider_appservice.operations.deploy_resume import SUCCEEDED

        return status in SUCCEEDED

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Wait (here or in the triggerer), then return the task's result.

        It returns the result itself because ``ResumableJobMixin`` (task-sdk 1.3.2) returns what
        this method returns when it *reconnects*, without calling ``get_job_result``; on a fresh
        submit it calls both, and ``get_job_result`` then hands back the same cached result.
        """
        from airflow_provider_appservice.operations.targets import check_names

        state = dict(external_id or {})
        deployment_id = str(state["deployment_id"])
        check_names(deployment_id=deployment_id)  # read back from task_state_store: untrusted
        target = self.target
        self._push_log_link(context, state)
        if not self.wait_for_completion:
            self.log.info("wait_for_completion=False: not waiting for deployment %s", deployment_id)
            self._outcome_status = "Submitted"
            return self.get_job_result(external_id, context)
        remaining = self._remaining()
        if self.deferrable:
            from airflow_provider_appservice.triggers.deployment import AppServiceDeploymentTrigger

            self.log.info("Deferring: the triggerer waits up to %.0fs for deployment %s", remaining, deployment_id)
            self.defer(
                trigger=AppServiceDeploymentTrigger(
                    azure_app_service_conn_id=self.azure_app_service_conn_id,
                    resource_group=target.resource_group,
                    app_name=target.app_name,
                    slot=target.slot,
                    deployment_id=deployment_id,
                    deadline=self.hook.clock.wall() + remaining,
                    poll_interval=self._interval,
                    scm_host=state.get("scm_host"),
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=remaining + 300),
            )
        from airflow_provider_appservice.operations.deploy_outcome import raise_for_outcome
        from airflow_provider_appservice.operations.deploy_tracking import track
        from airflow_provider_appservice.operations.kudu_log import LogFollower

        scm = self._stored_scm(state)
        tracker = self._tracker(deployment_id, max(remaining, 0.001))
        follower = LogFollower()
        outcome = track(
            scm, self.hook.get_conn(), target, tracker, clock=self.hook.clock, logger=self.log, follower=follower
        )
        self.status_requests = tracker.requests
        self.log.info("Deployment %s: %s after %d status request(s)", deployment_id, outcome.message, tracker.requests)
        raise_for_outcome(outcome, target, tracker, scm.format_url(""), follower.last_lines())
        self._outcome_status = outcome.status
        return self.get_job_result(external_id, context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_appservice.errors import AppServiceError, DeploymentTimeout
        from airflow_provider_appservice.operations.waits import check_event

        state: dict[str, Any] = dict(cast(dict, context["task_state_store"].get(STATE_KEY) or {}))
        # An error event raises the class the worker path raises; the rest is checked, not trusted.
        status = check_event(event, "deployment", {"deployment_id": str, "log_url": str, "last_lines": list})["status"]
        if status == "success":
            self._outcome_status = str(event.get("deployment_status") or "Success")
            self.log.info("Deployment %s: %s", event.get("deployment_id"), event.get("message"))
            return self.get_job_result(state, context)
        message = str(event.get("message") or "the deployment trigger failed")
        if status == "timeout":
            raise DeploymentTimeout(
                f"Deployment {event.get('deployment_id')} to {self.target.label} did not finish: {message}. A retry "
                f"of this task reconnects to it. Log: {event.get('log_url') or 'n/a'}"
            )
        if status == "failed":
            from airflow_provider_appservice.operations.deploy_outcome import failure_from_event

            raise failure_from_event(self.target.label, event, message)
        raise AppServiceError(message)

    def _push_log_link(self, context: Context, state: dict[str, Any]) -> None:
        url = f"https://{state.get('scm_host')}/api/deployments/{state.get('deployment_id')}/log"
        context["ti"].xcom_push(key=DEPLOYMENT_LOG_URL_KEY, value=url)

    def get_job_result(self, external_id: Any, context: Context) -> dict[str, Any]:
        """XCom, link, asset event and the audit line of a finished (or submitted) deployment (once)."""
        from airflow_provider_appservice.audit import audit

        cached = getattr(self, "_result", None)
        if cached is not None:
            return cached

        state = dict(external_id or {})
        target = self.target
        identity = self.hook.identity
        status = getattr(self, "_outcome_status", None) or getattr(self, "_resumed_status", None) or "Success"
        uploaded_at = state.get("uploaded_at")
        duration = round(time.time() - float(uploaded_at), 3) if uploaded_at else None
        self._push_log_link(context, state)
        resource_id = str(state.get("resource_id") or "")
        if resource_id:
            self.push_portal_link(context, resource_id)
        submitted_only = status == "Submitted"
        if not submitted_only:
            self._emit_asset(context, state)
        audit(
            self.log,
            identity,
            "deploy",
            resource_id,
            outcome="submitted" if submitted_only else "succeeded",
            deployment_id=state.get("deployment_id"),
            status=status,
            type=state.get("type"),
            source=state.get("source"),
            sha256=state.get("checksum"),
        )
        self._result: dict[str, Any] = {
            "deployment_id": state.get("deployment_id"),
            "status": status,
            "duration": duration,
            "checksum": state.get("checksum"),
            "app_name": target.app_name,
            "slot": target.slot,
        }
        return self._result

    def _emit_asset(self, context: Context, state: dict[str, Any]) -> None:
        target = self.target
        extra = {"action": "deploy", "deployment_id": state.get("deployment_id"), "sha256": state.get("checksum")}
        emit_slot_events(
            context, self.outlets, self.log, [(target.resource_group, target.app_name, target.slot, extra)]
        )
