"""Wait until an app or slot reaches an admin state, in the worker or (deferrable) the triggerer.

``state`` is App Service's *admin* state: it says Running while a container crash-loops.
To know the app serves, gate on its health (``AppServiceHealthSensor``) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.operators.base import TARGET_FIELDS
from airflow_provider_appservice.sensors.base import AppServiceBaseSensor

if TYPE_CHECKING:
    from airflow.sdk import Context


class AppServiceStateSensor(AppServiceBaseSensor):
    """Wait for ``target_state`` (``Running`` or ``Stopped``); pokes once, then defers if deferrable."""

    template_fields: Sequence[str] = (*TARGET_FIELDS, "target_state")

    def __init__(
        self,
        *,
        target_state: str = "Running",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target_state = target_state

    def poke(self, context: Context) -> bool:
        from airflow_provider_appservice.operations.sites import get_site

        target = self.target
        site = get_site(self.hook.get_conn(), target.resource_group, target.app_name, target.slot)
        self.push_portal_link(context, site.resource_id)
        self.log.info("%s is %s (waiting for %s)", target.label, site.state, self.target_state)
        return site.state.lower() == self.target_state.lower()

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        from airflow_provider_appservice.triggers.state import AppServiceStateTrigger

        target = self.target
        self.defer(
            trigger=AppServiceStateTrigger(
                azure_app_service_conn_id=self.azure_app_service_conn_id,
                resource_group=target.resource_group,
                app_name=target.app_name,
                slot=target.slot,
                poll_interval=self.poke_interval,
                target_state=self.target_state,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.operations.waits import SUCCESS, check_event

        checked = check_event(event, "state", {"state": str})
        if checked["status"] != SUCCESS:
            raise AppServiceError(checked["message"] or "the state trigger failed")
        self.log.info("%s reached %s", self.target.label, event.get("state"))
