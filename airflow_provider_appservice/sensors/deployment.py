"""Wait for a deployment of an app or slot to end: a given Kudu id, or the latest one."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import PokeReturnValue

from airflow_provider_appservice.common.mixins import TARGET_FIELDS
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.links.deployment_log import DEPLOYMENT_LOG_URL_KEY, AppServiceDeploymentLogLink
from airflow_provider_appservice.links.portal import AppServicePortalLink
from airflow_provider_appservice.sensors.base import AppServiceBaseSensor

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.kudu_status import DeploymentTracker


class AppServiceDeploymentSensor(AppServiceBaseSensor):
    """Succeed when a deployment succeeds (Kudu, then the runtime status where offered); fail
    at once, with the last log lines, when it fails. Pokes once, then defers if deferrable.

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    :param deployment_id: a Kudu deployment id (e.g. from ``AppServiceDeployOperator``'s XCom
        with ``wait_for_completion=False``) or ``"latest"``: the app's newest deployment (a
        stale temporary record on ``/api/deployments/latest`` is skipped).
    """

    template_fields: Sequence[str] = (*TARGET_FIELDS, "deployment_id")
    operator_extra_links = (AppServicePortalLink(), AppServiceDeploymentLogLink())

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        deployment_id: str = "latest",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.deployment_id = deployment_id
        self._tracker: DeploymentTracker | None = None
        self._started = time.monotonic()
        self._scm_host: str | None = None

    def _scm(self) -> Any:
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.operations.sites import get_site

        if self._scm_host is None:
            target = self.target
            site = get_site(self.hook.get_conn(), target.resource_group, target.app_name, target.slot)
            if not site.scm_host_name:
                raise AppServiceError(f"{target.label} reports no SCM (Kudu) host name")
            self._scm_host = site.scm_host_name
            self._resource_id = site.resource_id
        return self.hook.get_scm_client(self._scm_host)  # one client for every poke of this hook

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_appservice.operations.deploy_outcome import raise_for_outcome
        from airflow_provider_appservice.operations.deploy_tracking import poke_deployment
        from airflow_provider_appservice.operations.kudu_log import LogFollower
        from airflow_provider_appservice.operations.kudu_status import DeploymentTracker

        target = self.target
        scm = self._scm()
        if self._tracker is None:
            # The tracker ends the wait at the sensor's timeout (before Airflow's own bare
            # AirflowSensorTimeout would), so the failure names the last status or the failures seen.
            # Airflow's poke loop sleeps and checks its timeout on real monotonic time, not on the
            # hook's clock, so this deadline is measured the same way.
            self._tracker = DeploymentTracker(
                str(self.deployment_id or "latest"),
                slot=bool(target.slot),
                started=self._started,
                timeout=float(self.timeout) or 1e9,
            )
            self._follower = LogFollower()
            self.push_portal_link(context, self._resource_id)
        tracker = self._tracker
        outcome = poke_deployment(
            scm,
            self.hook.get_conn(),
            target,
            tracker,
            self._follower,
            next_poke_at=time.monotonic() + float(self.poke_interval),
            logger=self.log,
        )
        if tracker.deployment_id:
            context["ti"].xcom_push(
                key=DEPLOYMENT_LOG_URL_KEY,
                value=f"https://{self._scm_host}/api/deployments/{tracker.deployment_id}/log",
            )
        if outcome is None:
            self.log.info(
                "%s: deployment %s is %s", target.label, tracker.deployment_id or "latest", tracker.describe()
            )
            return PokeReturnValue(is_done=False)
        raise_for_outcome(outcome, target, tracker, scm.format_url(""), self._follower.last_lines())
        return PokeReturnValue(
            is_done=True, xcom_value={"deployment_id": tracker.deployment_id, "status": outcome.status}
        )

    def execute(self, context: Context) -> Any:
        from airflow_provider_appservice.errors import TaskArgumentError
        from airflow_provider_appservice.operations.targets import check_names

        if self.deployment_id in (None, ""):
            raise TaskArgumentError(
                "deployment_id", "is empty (did its template render nothing?)", "pass a deployment id or 'latest'"
            )
        check_names(deployment_id=self.deployment_id)
        # Before Airflow's poke loop takes its own start, so the tracker's deadline comes first.
        self._started = time.monotonic()
        with self.hook:  # closes the SCM and ARM clients the pokes shared
            return self._execute(context)

    def _execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        from airflow_provider_appservice.triggers.deployment import AppServiceDeploymentTrigger

        target = self.target
        assert self._tracker is not None
        self.defer(
            trigger=AppServiceDeploymentTrigger(
                azure_app_service_conn_id=self.azure_app_service_conn_id,
                resource_group=target.resource_group,
                app_name=target.app_name,
                slot=target.slot,
                deployment_id=self._tracker.deployment_id or "latest",
                deadline=self.hook.clock.wall() + float(self.timeout),
                poll_interval=float(self.poke_interval),
                scm_host=self._scm_host,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_appservice.errors import AppServiceError, DeploymentTimeout
        from airflow_provider_appservice.operations.waits import check_event

        status = check_event(event, "deployment", {"deployment_id": str, "log_url": str, "last_lines": list})["status"]
        if event.get("log_url"):
            context["ti"].xcom_push(key=DEPLOYMENT_LOG_URL_KEY, value=event["log_url"])
        if status == "success":
            self.log.info("Deployment %s: %s", event.get("deployment_id"), event.get("message"))
            return {"deployment_id": event.get("deployment_id"), "status": event.get("deployment_status")}
        message = str(event.get("message") or "the deployment trigger failed")
        if status == "timeout":
            raise DeploymentTimeout(f"{self.target.label}: {message}")
        if status == "failed":
            from airflow_provider_appservice.operations.deploy_outcome import failure_from_event

            raise failure_from_event(self.target.label, event, message)
        raise AppServiceError(message)
