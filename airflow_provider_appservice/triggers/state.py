"""Wait in the triggerer until an app or slot reaches an admin state (Running, Stopped)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger, error_event


class AppServiceStateTrigger(AppServiceBaseTrigger):
    """Poll the site's ``state`` until it equals ``target_state``; the task's timeout bounds it."""

    def __init__(self, *, target_state: str = "Running", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_state = target_state

    def extra_kwargs(self) -> dict[str, Any]:
        return {"target_state": self.target_state}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.sites import aget_site

        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        try:
            async with hook.shared_arm_client() as client:
                while True:
                    site = await aget_site(client, self.resource_group, self.app_name, self.slot)
                    if site.state.lower() == self.target_state.lower():
                        yield TriggerEvent({"status": "success", "state": site.state, "resource_id": site.resource_id})
                        return
                    self.log.info("%s is %s, waiting for %s", self.label, site.state, self.target_state)
                    await hook.clock.asleep(self.poll_interval)
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Reading {self.label}", exc)
