"""What every App Service trigger shares: its target, a JSON round trip, the shared client.

Trigger kwargs are stored in Airflow's database and printed by the trigger's repr, so they
hold only names and numbers: never a token, URL with a SAS, header or setting value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_appservice.hooks.app_service import AppServiceHook
    from airflow_provider_appservice.operations.endpoint import AppEndpoint


def error_event(what: str, exc: BaseException, **extra: Any) -> TriggerEvent:
    """An error as an event: classified by the one boundary, so the task raises the same class
    as the worker path would (``errors.from_event`` on the other side). Names and numbers only."""
    from airflow_provider_appservice.boundary import classify

    return TriggerEvent({**classify(what, exc).to_event(), **extra})


def read_deadline(value: Any, argument: str = "deadline") -> float:
    """A trigger's own end time (epoch seconds), read back from its stored kwargs: a finite
    number, or the trigger is refused, so no wait relies on Airflow's trigger timeout alone
    (``dag.test()`` has none) and none polls forever."""
    import math

    from airflow_provider_appservice.errors import TaskArgumentError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise TaskArgumentError(
            argument,
            "is missing" if value is None else f"is {str(value)[:40]!r}, not an end time in epoch seconds",
            "clear the task so it defers again with its own deadline",
        )
    return float(value)


async def trusted_app_call(
    hook: AppServiceHook, trigger: AppServiceBaseTrigger, scope: Any, hosts: Any, base_url: Any, path: Any
) -> tuple[str | None, AppEndpoint]:
    """The scope and endpoint an app-probing trigger may use, its kwargs checked again (they come
    back from the database): the path is a path on the app, the audience passes the floor and the
    allow-rule, and the hosts are re-derived from ARM (``operations.app_trust``), all before any
    app token exists."""
    from airflow_provider_appservice.identity.audiences import app_scope
    from airflow_provider_appservice.operations.app_trust import trusted_endpoint
    from airflow_provider_appservice.operations.endpoint import acheck_app_audience, check_app_path
    from airflow_provider_appservice.operations.sites import aget_site
    from airflow_provider_appservice.operations.targets import AppTarget

    check_app_path(path)
    checked_scope = app_scope(scope) if scope else None
    identity = await hook.aget_identity()
    target = AppTarget(trigger.resource_group, trigger.app_name, trigger.slot)
    async with hook.shared_arm_client() as arm:
        site = await aget_site(arm, trigger.resource_group, trigger.app_name, trigger.slot)
        await acheck_app_audience(arm, target, identity, checked_scope)  # the allow-rule, as on the worker
    return checked_scope, trusted_endpoint(trigger.label, site, identity, hosts, base_url)


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
