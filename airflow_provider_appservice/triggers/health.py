"""Gate on an app's health from the triggerer: N consecutive good answers, a flap resets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger, error_event


class AppServiceHealthTrigger(AppServiceBaseTrigger):
    """Probe ``path`` until ``required_consecutive`` healthy answers in a row, or until
    ``deadline`` (epoch seconds; the sensor's timeout) with the last probes' outcomes.

    Kwargs hold no secret: the audience's *scope*, host names and the check. The app pipeline
    comes from the hook, shared per loop and (identity, audience, hosts, base URL) and closed by
    its last user, also when the trigger is cancelled; the loop's credential is closed with the
    loop's last shared client.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.scope = scope
        self.hosts = list(hosts)
        self.base_url = base_url
        self.required_consecutive = required_consecutive
        self.check = check
        self.request_timeout = request_timeout
        self.deadline = deadline

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
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.health import HealthCheck, HealthGate, aprobe

        check = HealthCheck(**{**self.check, "expected_status": tuple(self.check.get("expected_status", (200,)))})
        gate = HealthGate(required=self.required_consecutive)
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        try:
            async with hook.shared_app_client(self.scope, self.hosts, self.base_url) as client:
                while True:
                    result = await aprobe(client, self.path, check, self.request_timeout)
                    passed = gate.observe(result.healthy, result.why)
                    self.log.info(
                        "probe %d of %s%s: %s in %.0f ms (%d/%d in a row)",
                        gate.probes,
                        self.label,
                        self.path,
                        result.why,
                        result.latency_ms,
                        gate.streak,
                        gate.required,
                    )
                    if passed:
                        yield TriggerEvent({"status": "success", "probes": gate.probes})
                        return
                    if self.deadline is not None and hook.clock.wall() + self.poll_interval > self.deadline:
                        yield TriggerEvent({"status": "timeout", "probes": gate.probes, "history": gate.history})
                        return
                    await hook.clock.asleep(self.poll_interval)
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Probing {self.label}{self.path}", exc)
