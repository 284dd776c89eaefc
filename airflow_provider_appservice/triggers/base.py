"""What every App Service trigger shares: its target, a JSON round trip, the shared client.

Trigger kwargs are stored in Airflow's database and printed by the trigger's repr, so they
hold only names and numbers: never a token, URL with a SAS, header or setting value.
"""

from __future__ import annotations

from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def error_event(what: str, exc: BaseException, **extra: Any) -> TriggerEvent:
    """An error as an event: classified by the one boundary, so the task raises the same class
    as the worker path would (``errors.from_event`` on the other side). Names and numbers only."""
    from airflow_provider_appservice.boundary import classify

    return TriggerEvent({**classify(what, exc).to_event(), **extra})


class AppServiceBaseTrigger(BaseTrigger):
    """Base for triggers that poll one app or slot through the loop's shared ARM client."""

    def __init__(
        self,
        *,
        azure_app_service_conn_id: str,
        resource_group: str,
        app_name: str,
        slot: str | None = None,
        poll_interval: float = 30.0,
    ) -> None:
        from airflow_provider_appservice.operations.targets import check_names

        super().__init__()
        # Trigger kwargs come back from the database: the names are checked again before any URL.
        check_names(resource_group=resource_group, app_name=app_name, slot=slot)
        self.azure_app_service_conn_id = azure_app_service_conn_id
        self.resource_group = resource_group
        self.app_name = app_name
        self.slot = slot
        self.poll_interval = poll_interval

    def extra_kwargs(self) -> dict[str, Any]:
        """Subclasses add their own JSON-serialisable arguments here."""
        return {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "azure_app_service_conn_id": self.azure_app_service_conn_id,
                "resource_group": self.resource_group,
                "app_name": self.app_name,
                "slot": self.slot,
                "poll_interval": self.poll_interval,
                **self.extra_kwargs(),
            },
        )

    @property
    def label(self) -> str:
        return f"{self.app_name}/{self.slot}" if self.slot else self.app_name
