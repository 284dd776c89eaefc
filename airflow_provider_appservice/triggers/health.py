"""Gate on an app's health from the triggerer: N consecutive good answers, a flap resets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger


class AppServiceHealthTrigger(AppServiceBaseTrigger):
    """Probe ``path`` until ``required_consecutive`` healthy answers in a row; the task's timeout bounds it.

    The credential is the loop's shared one; the app pipeline (its own hosts and audience) is
    opened for this trigger and closed when it ends or is cancelled.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.scope = scope
        self.hosts = hosts
        self.base_url = base_url
        self.required_consecutive = required_consecutive
        self.check = check
        self.request_timeout = request_timeout

    def extra_kwargs(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "scope": self.scope,
            "hosts": self.hosts,
            "base_url": self.base_url,
            "required_consecutive": self.required_consecutive,
            "check": self.check,
            "request_timeout": self.request_timeout,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.identity.credentials import get_async_credential
        from airflow_provider_appservice.operations.health import HealthCheck, HealthGate, aprobe
        from airflow_provider_appservice.transport.app import build_async_app_client

        check = HealthCheck(**{**self.check, "expected_status": tuple(self.check.get("expected_status", (200,)))})
        gate = HealthGate(required=self.required_consecutive)
        try:
            identity = await AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id).aget_identity()
            credential = get_async_credential(identity) if self.scope else None
            async with build_async_app_client(identity, credential, self.scope, self.hosts, self.base_url) as client:
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
                    await asyncio.sleep(self.poll_interval)
        except AppServiceError as exc:
            yield TriggerEvent({"status": "error", "message": str(exc)})
