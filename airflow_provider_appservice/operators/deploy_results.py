"""What a finished (or submitted) deployment leaves behind, for ``AppServiceDeployOperator``:
the deferred wait's end, XCom, the log link, the asset event and the audit line (once)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_appservice.common.assets import emit_slot_events
from airflow_provider_appservice.links.deployment_log import DEPLOYMENT_LOG_URL_KEY

if TYPE_CHECKING:
    from airflow.sdk import Context

STATE_KEY = "appservice_deployment"


class DeployResultsMixin:
    """The end of a deploy task; the operator supplies ``target``, ``hook``, ``log``, ``outlets``."""

    if TYPE_CHECKING:
        target: Any
        hook: Any
        log: Any
        outlets: Any

        def push_portal_link(self, context: Context, resource_id: str) -> None: ...

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
