"""Gate on an app's health from the triggerer: N consecutive good answers, a flap resets."""

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


class AppServiceHealthTrigger(AppServiceBaseTrigger):
    """Probe ``path`` until ``required_consecutive`` healthy answers in a row, or until
    ``deadline`` (epoch seconds; the sensor's timeout) with the last probes' outcomes.

    The decisions are the worker's (``operations.health.HealthWait``); this trigger only runs
    the async driver (``operations.health.await_healthy``). Kwargs hold no secret: the
    audience's *scope*, host names and the check. The app pipeline comes from the hook, shared
    per loop and (identity, audience, hosts, base URL) and closed by its last user, also when
    the trigger is cancelled; the loop's credential is closed with the loop's last shared client.
    ``deadline`` is required (a row stored without one is refused: it could wait forever).
    ``timeout``: the sensor's timeout in seconds, for the messages.
    """

    def __init__(
        self,
        *,
        path: str,
        scope: str | None,
        hosts: list[str],
        base_url: str,
        required_consecutive: int,
        check: dict[str, Any],
        request_timeout: float,
        deadline: float | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.scope = scope
        self.hosts = list(hosts)
        self.base_url = base_url
        from airflow_provider_appservice.operations.health import check_from_kwargs, check_streak

        # Kwargs come back from the database: a streak of 0 or a broken check is refused here.
        self.required_consecutive = check_streak(required_consecutive)
        check_from_kwargs(check)
        self.check = check
        self.request_timeout = request_timeout
        self.deadline = read_deadline(deadline)  # kwargs come back from the database
        self.timeout = timeout

    def extra_kwargs(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "scope": self.scope,
            "hosts": self.hosts,
            "base_url": self.base_url,
            "required_consecutive": self.required_consecutive,
            "check": self.check,
            "request_timeout": self.request_timeout,
            "deadline": self.deadline,
            "timeout": self.timeout,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.health import HealthWait, await_healthy, check_from_kwargs
        from airflow_provider_appservice.operations.waits import outcome_event

        check = check_from_kwargs(self.check)
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        deadline = self.deadline
        wait = HealthWait(
            f"{self.label}{self.path}",
            required=self.required_consecutive,
            deadline=deadline,
            timeout=self.timeout if self.timeout is not None else max(deadline - hook.clock.wall(), 0.0),
            interval=self.poll_interval,
        )
        try:
            scope, endpoint = await trusted_app_call(hook, self, self.scope, self.hosts, self.base_url, self.path)
            async with hook.shared_app_client(scope, endpoint.hosts, endpoint.base_url) as client:
                outcome = await await_healthy(
                    client, self.path, check, self.request_timeout, wait, clock=hook.clock, logger=self.log
                )
                yield TriggerEvent(outcome_event(outcome, probes=wait.gate.probes, history=wait.gate.history))
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Probing {self.label}{self.path}", exc)
