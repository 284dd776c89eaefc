"""Wait in the triggerer until a Kudu deployment (and its runtime status) ends, or the deadline.

Same decisions as the worker (``operations.kudu_status.DeploymentTracker``); the ARM client and
the SCM pipeline are the loop's shared ones from the hook, released when the wait ends. Kwargs are names, an id and numbers: nothing secret (no package URL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.operations.targets import check_names
from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger, error_event


class AppServiceDeploymentTrigger(AppServiceBaseTrigger):
    """Track deployment ``deployment_id`` (or ``"latest"``) of an app or slot.

    :param deadline: epoch seconds after which the wait ends with a timeout event (so a
        triggerer restart does not extend it).
    :param poll_interval: fixed seconds between status requests; None for the growing
        PollSchedule (2, 4, 8, 16, then every 30 s). A Retry-After is always a floor.
    :param scm_host: the site's SCM host name, when the worker already read it.
    """

    def __init__(
        self,
        *,
        deployment_id: str,
        deadline: float,
        poll_interval: float | None = None,
        scm_host: str | None = None,
        runtime: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(poll_interval=poll_interval, **kwargs)  # type: ignore[arg-type]
        check_names(deployment_id=deployment_id)  # kwargs come back from the database: untrusted
        self.deployment_id = deployment_id
        self.deadline = float(deadline)
        self.scm_host = scm_host
        self.runtime = runtime

    def extra_kwargs(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "deadline": self.deadline,
            "scm_host": self.scm_host,
            "runtime": self.runtime,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.deploy_outcome import unanswered_error
        from airflow_provider_appservice.operations.deploy_resume import trusted_scm_host
        from airflow_provider_appservice.operations.deploy_tracking import atrack
        from airflow_provider_appservice.operations.kudu_log import LogFollower
        from airflow_provider_appservice.operations.kudu_status import DeploymentTracker
        from airflow_provider_appservice.operations.sites import aget_site
        from airflow_provider_appservice.operations.targets import AppTarget

        target = AppTarget(self.resource_group, self.app_name, self.slot)
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        follower = LogFollower()
        tracker: DeploymentTracker | None = None
        try:
            async with hook.shared_arm_client() as arm:
                # The token goes only to the SCM host ARM reports now: a host carried in the
                # trigger's kwargs (stored in the database) is never trusted, only compared.
                site = await aget_site(arm, self.resource_group, self.app_name, self.slot)
                scm_host = site.scm_host_name
                if not scm_host:
                    raise AppServiceError(f"{self.label} reports no SCM (Kudu) host name")
                scm_host = trusted_scm_host(self.label, scm_host, self.scm_host)  # kwargs are untrusted
                async with hook.shared_scm_client(scm_host) as scm:
                    tracker = DeploymentTracker(
                        self.deployment_id,
                        slot=bool(self.slot),
                        started=hook.clock.now(),
                        timeout=max(self.deadline - hook.clock.wall(), 0.001),
                        interval=self.poll_interval,
                        runtime=self.runtime,
                    )
                    outcome = await atrack(
                        scm, arm, target, tracker, clock=hook.clock, logger=self.log, follower=follower
                    )
            log_url = tracker.log_url or (
                f"https://{scm_host}/api/deployments/{tracker.deployment_id}/log" if tracker.deployment_id else None
            )
            if outcome.timed_out and outcome.unanswered:  # the worker path raises the same error
                yield error_event(f"Tracking a deployment of {self.label}", unanswered_error(outcome, target, log_url))
                return
            yield TriggerEvent(
                {
                    "status": "success" if outcome.succeeded else ("timeout" if outcome.timed_out else "failed"),
                    "deployment_id": tracker.deployment_id,
                    "deployment_status": outcome.status,
                    "message": outcome.message,
                    "log_url": log_url,
                    "last_lines": follower.last_lines(),
                    "requests": tracker.requests,
                }
            )
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Tracking a deployment of {self.label}", exc)
