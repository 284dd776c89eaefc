"""Wait in the triggerer until a newly set container image serves, or the deadline.

The decisions are the worker's (``operations.container.ContainerReadiness``); this trigger only
runs the async driver on the app pipeline the hook shares in the running loop. Kwargs are names, host names, the image
reference, the audience's scope and numbers: nothing secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.triggers.base import (
    AppServiceBaseTrigger,
    error_event,
    read_deadline,
    trusted_app_call,
)


class AppServiceContainerReadyTrigger(AppServiceBaseTrigger):
    """Probe ``path`` of the app or slot until ``required_consecutive`` healthy answers in a row.

    :param image: the image just set (for the messages).
    :param path: the path to probe.
    :param scope: the Easy Auth audience's scope for the probe, or None (anonymous).
    :param hosts: the host names an app token may go to (read from ARM by the worker).
    :param base_url: the app's base URL.
    :param required_consecutive: healthy answers in a row that count as "serving".
    :param deadline: epoch seconds; the wait ends there with a timeout event (a restarted
        triggerer keeps it; it does not rely on Airflow's trigger timeout).
    :param timeout: the operator's timeout in seconds (for the messages).
    :param state: the site's admin state when the image was set (for the timeout message).
    """

    def __init__(
        self,
        *,
        image: str,
        path: str,
        scope: str | None,
        hosts: list[str],
        base_url: str,
        required_consecutive: int,
        deadline: float,
        timeout: float,
        state: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.path = path
        self.scope = scope
        self.hosts = list(hosts)
        self.base_url = base_url
        from airflow_provider_appservice.operations.health import check_streak

        self.required_consecutive = check_streak(required_consecutive)  # kwargs come back from the database
        self.deadline = read_deadline(deadline)  # kwargs come back from the database
        self.timeout = float(timeout)
        self.state = state

    def extra_kwargs(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "path": self.path,
            "scope": self.scope,
            "hosts": self.hosts,
            "base_url": self.base_url,
            "required_consecutive": self.required_consecutive,
            "deadline": self.deadline,
            "timeout": self.timeout,
            "state": self.state,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.container import ContainerReadiness, await_serving
        from airflow_provider_appservice.operations.waits import outcome_event

        readiness = ContainerReadiness(
            self.label,
            self.image,
            required=self.required_consecutive,
            deadline=self.deadline,
            timeout=self.timeout,
            interval=self.poll_interval,
            state=self.state,
        )
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        try:
            scope, endpoint = await trusted_app_call(hook, self, self.scope, self.hosts, self.base_url, self.path)
            async with hook.shared_app_client(scope, endpoint.hosts, endpoint.base_url) as app:
                outcome = await await_serving(app, self.path, readiness, clock=hook.clock, logger=self.log)
            yield TriggerEvent(outcome_event(outcome, probes=readiness.gate.probes))
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Waiting for the new container of {self.label}", exc, probes=readiness.gate.probes)
