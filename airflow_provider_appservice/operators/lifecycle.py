"""Restart, start and stop an App Service app or slot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.common.templated import as_bool
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class _LifecycleOperator(AppServiceBaseOperator):
    action: str = ""

    def lifecycle_options(self) -> dict[str, Any]:
        return {}

    def execute(self, context: Context) -> dict[str, Any]:
        target = self.target
        result = self.hook.lifecycle(self.action, target, logger=self.log, **self.lifecycle_options())
        self.push_portal_link(context, result.site.resource_id)
        return {"app_name": target.app_name, "slot": target.slot, "state": result.site.state}


_TARGET_DOC = """
    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
"""


class AppServiceRestartOperator(_LifecycleOperator):
    __doc__ = (
        """Restart an app or slot (``POST …/restart``, never sent twice when its outcome is unclear).
"""
        + _TARGET_DOC
        + """    :param soft_restart: restart the app without recycling the worker (``softRestart``).
    :param synchronous: have Azure answer only once the restart is done (``synchronous``).
"""
    )

    action = "restart"
    template_fields: Sequence[str] = (*AppServiceBaseOperator.template_fields, "soft_restart", "synchronous")

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        soft_restart: bool | None = None,
        synchronous: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.soft_restart = soft_restart
        self.synchronous = synchronous

    def lifecycle_options(self) -> dict[str, Any]:
        return {
            "soft_restart": as_bool(self.soft_restart, "soft_restart"),
            "synchronous": as_bool(self.synchronous, "synchronous"),
        }


class AppServiceStartOperator(_LifecycleOperator):
    __doc__ = "Start a stopped app or slot.\n" + _TARGET_DOC

    action = "start"


class AppServiceStopOperator(_LifecycleOperator):
    __doc__ = 'Stop an app or slot (it answers 403 "Site Disabled" until started again).\n' + _TARGET_DOC

    action = "stop"
