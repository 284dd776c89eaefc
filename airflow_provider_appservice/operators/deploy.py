"""Deploy a package to an App Service app or slot with OneDeploy, and wait for it to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import ResumableJobMixin, conf

from airflow_provider_appservice.common.assets import APP_SERVICE_ASSET_ALIAS
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.links.deployment_log import AppServiceDeploymentLogLink
from airflow_provider_appservice.links.portal import AppServicePortalLink
from airflow_provider_appservice.operators.base import AppServiceBaseOperator
from airflow_provider_appservice.operators.deploy_arguments import flag, positive_seconds
from airflow_provider_appservice.operators.deploy_results import STATE_KEY, DeployResultsMixin

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.deploy import UploadResult
    from airflow_provider_appservice.operations.deploy_resume import StoredDeploy
    from airflow_provider_appservice.operations.kudu_status import DeploymentTracker
    from airflow_provider_appservice.operations.packages import PackageSpec
    from airflow_provider_appservice.operations.sites import SiteInfo

__all__ = ["STATE_KEY", "AppServiceDeployOperator"]


def _mask_package(package: Any) -> None:
    from airflow.sdk.log import mask_secret

    from airflow_provider_appservice.operations.packages import is_url, sas_secrets

    if isinstance(package, str) and is_url(package):
        for secret in sas_secrets(package):
            mask_secret(secret)


class AppServiceDeployOperator(DeployResultsMixin, ResumableJobMixin, AppServiceBaseOperator):
    """Deploy a file, a folder (zipped on the fly) or an https URL with OneDeploy, then wait.

    The SCM (Kudu) site is reached with the connection's Entra token, so it works where SCM
    basic auth is disabled; the upload is streamed from disk and its sha256 computed on the way.
    Tracking follows Kudu's status by id and the platform's runtime status (where offered) until
    success, failure or ``timeout``. Airflow's task state store keeps an intent before the upload
    and Kudu's id right after it, with the package's content digest: a retry reconnects, a rerun
    of the same content says it is already deployed, new content deploys (docs/deployments.md).

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    :param package: a file, a folder or an ``https://`` URL (Kudu fetches it; a blob SAS ``sig``
        is masked in logs from render time on). Templated. Checked before any call: no empty
        folder or file, a zip for zip/war/jar/ear, no special or system files.
    :param package_root: a folder a local ``package`` must resolve inside (symlinks resolved
        first). Not templated on purpose: ``package`` may come from whoever triggers the DAG, and
        the bound on it must be the DAG author's alone.
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
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        package: str,
        type: str | None = None,
        target_path: str | None = None,
        clean: bool | None = None,
        restart: bool | None = None,
        wait_for_completion: bool = True,
        timeout: float = 1800,
        poll_interval: float | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        package_root: str | None = None,
        **kwargs: Any,
    ) -> None:
        from airflow.sdk import AssetAlias

        kwargs.setdefault("outlets", [AssetAlias(name=APP_SERVICE_ASSET_ALIAS)])
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.package = package
        self.type = type
        self.target_path = target_path
        self.clean = clean
        self.restart = restart
        self.wait_for_completion = wait_for_completion
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.package_root = package_root
        _mask_package(package)

    # --- secrets ----------------------------------------------------------------------------

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Mask a SAS ``sig`` right after rendering: the rendered fields go to the API server next."""
        super().render_template_fields(context, jinja_env)
        _mask_package(self.package)

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _timeout(self) -> float:
        value = positive_seconds(self.timeout, "timeout")
        return 1800.0 if value is None else value

    @property
    def _interval(self) -> float | None:
        return positive_seconds(self.poll_interval, "poll_interval")

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
        """Every argument and the package are checked (and a folder zipped) before any call."""
        from airflow_provider_appservice.operations.packages import prepare_package

        self._started = self.hook.clock.now()
        flag(self.clean, "clean"), flag(self.restart, "restart")  # refused before anything is sent
        self._timeout, self._interval  # noqa: B018
        with prepare_package(
            self.package, self.type, self.target_path or None, logger=self.log, package_root=self.package_root
        ) as spec:
            self._spec: PackageSpec | None = spec
            with self.hook:  # closes the ARM and SCM clients of this run
                return self.execute_resumable(context)

    def submit_job(self, context: Context) -> dict[str, Any]:
        """Check the app, store the intent, upload, store Kudu's id at once; return the record."""
        from airflow_provider_appservice.operations.deploy import check_run_from_package
        from airflow_provider_appservice.operations.deploy_resume import list_deployments, snapshot
        from airflow_provider_appservice.operations.deploy_tracking import resolve_deployment_id

        target, spec = self.target, self._spec
        assert spec is not None
        site = self._site()
        self.push_portal_link(context, site.resource_id)
        check_run_from_package(self.hook.get_conn(), target)
        scm = self._scm(str(site.scm_host_name))
        source = "url" if spec.url else "folder" if spec.temporary else "file"
        record: dict[str, Any] = {"content": spec.content, "type": spec.type, "source": source}
        record.update(scm_host=site.scm_host_name, resource_id=site.resource_id, kind=site.kind)
        store = context.get("task_state_store") if self.durable else None
        if store is not None:  # the intent: a retry that finds it never uploads blindly (get_job_status)
            store.set(STATE_KEY, {**record, **snapshot(list_deployments(scm, target)), "intent_at": time.time()})
        result = self._upload(scm, site, spec)
        deployment_id = result.deployment_id
        if deployment_id is None:
            self.log.info("Kudu sent no SCM-DEPLOYMENT-ID; reading the id from /api/deployments/latest")
            tracker = self._tracker(None, self._remaining(), not_before=result.started_at)
            deployment_id = resolve_deployment_id(scm, target, tracker, clock=self.hook.clock, logger=self.log)
        record.update(deployment_id=deployment_id, checksum=result.checksum, bytes=result.bytes)
        record["uploaded_at"] = result.started_at
        if store is not None:
            store.set(STATE_KEY, record)  # before anything else: the window without an id ends here
        self.log.info("Deployment %s accepted by %s", deployment_id, target.label)
        return record

    def _upload(self, scm: Any, site: SiteInfo, spec: PackageSpec) -> UploadResult:
        """Upload the prepared package; the runner dies with its parent meanwhile (orphan_guard)."""
        from airflow_provider_appservice.operations.deploy import describe_source, upload
        from airflow_provider_appservice.operations.orphan_guard import orphan_guard

        target = self.target
        where = f" at path '{spec.target_path}'" if spec.target_path else ""
        self.log.info(
            "Deploying %s as type '%s'%s to %s (%s, SCM host %s)",
            *(describe_source(spec), spec.type, where, target.label, site.kind, site.scm_host_name),
        )
        with orphan_guard(self.log) as check:
            result = upload(
                scm,
                target,
                spec,
                clean=flag(self.clean, "clean"),
                restart=flag(self.restart, "restart"),
                deadline=self._started + self._timeout,
                clock=self.hook.clock,
                logger=self.log,
                check=check,
            )
        if result.bytes:
            self.log.info(
                "Uploaded %.1f MB in %.1fs; sha256 %s", result.bytes / 1e6, result.seconds, result.checksum or "n/a"
            )
        return result

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """What the stored record says to do: the same content already deployed (or running), new
        content (deploy it), or an intent without an id (see :meth:`_resolve_intent`)."""
        from airflow_provider_appservice.operations.deploy_resume import (
            SUCCEEDED,
            read_record,
            stored_deployment_status,
        )

        stored = read_record(external_id, STATE_KEY, self._forget_hint(context))  # untrusted
        spec = getattr(self, "_spec", None)
        if spec is not None and stored.content != spec.content:
            self.log.info(
                "The package's content (sha256 %s) is not what the stored deployment %s had (%s): deploying it",
                *(spec.content[:16], stored.deployment_id or "(never stored)", (stored.content or "unknown")[:16]),
            )
            return "ContentChanged"
        if stored.is_intent:
            return self._resolve_intent(stored, context)
        deployment_id = str(stored.deployment_id)
        scm = self._stored_scm(stored.raw)
        status, resumed = stored_deployment_status(
            scm, self.hook.get_conn(), self.target, deployment_id, logger=self.log
        )
        if resumed is not None:
            self._resumed_status = resumed
        if status in SUCCEEDED and spec is not None:
            self.log.info(
                "Already deployed %s with this content (sha256 %s), not deploying again. To force a redeploy, %s and "
                "clear the task (or trigger a new DAG run)",
                *(deployment_id, spec.content[:16], self._forget_hint(context)),
            )
        return status

    def _resolve_intent(self, stored: StoredDeploy, context: Context) -> str:
        """An earlier try stored an intent but no id. Kudu's deployments since then decide: none
        means Kudu never had the package (upload again); any means it may have (refuse)."""
        from airflow_provider_appservice.operations.deploy import target_host
        from airflow_provider_appservice.operations.deploy_resume import ambiguity_error, list_deployments, since_intent

        scm = self._stored_scm(stored.raw)
        new = since_intent(list_deployments(scm, self.target), stored)
        if new:
            raise ambiguity_error(self.target.label, target_host(scm), stored, new, self._forget_hint(context))
        self.log.warning(
            "An earlier try of this task began an upload and stopped before Kudu had all of it: Kudu lists no "
            "deployment since, so the package is uploaded again"
        )
        return "NotReceived"

    def _forget_hint(self, context: Context) -> str:
        """How to forget this task's record (the REST call names this task instance)."""
        ti = context.get("ti") if context else None
        if ti is None:
            return f"delete this task's state-store key '{STATE_KEY}'"
        run = quote(str(ti.run_id), safe="")
        index = f"?map_index={ti.map_index}" if ti.map_index is not None and ti.map_index >= 0 else ""
        path = f"/api/v2/dags/{ti.dag_id}/dagRuns/{run}/taskInstances/{ti.task_id}/state-store/{STATE_KEY}{index}"
        return f"delete this task's state-store key '{STATE_KEY}' (Airflow REST API: DELETE {path})"

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
