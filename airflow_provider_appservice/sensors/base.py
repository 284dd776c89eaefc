"""What every App Service sensor shares: the target, a cached hook, deferrability, the retry
policy and the portal link (the sensor twin of ``operators.base.AppServiceBaseOperator``; both build on ``common.mixins``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy

from airflow_provider_appservice.common.mixins import APP_SERVICE_RETRY_POLICY, TARGET_FIELDS, AppServiceTargetMixin
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.links.portal import AppServicePortalLink


class AppServiceBaseSensor(AppServiceTargetMixin, BaseSensorOperator):
    """Base for sensors on one app or slot; ``deferrable`` defaults to ``[operators] default_deferrable``."""

    template_fields: Sequence[str] = TARGET_FIELDS
    operator_extra_links: tuple[Any, ...] = (AppServicePortalLink(),)
    default_retry_policy: ExceptionRetryPolicy = APP_SERVICE_RETRY_POLICY

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retry_policy", self.default_retry_policy)
        super().__init__(**kwargs)
        self._init_target(app_name, resource_group, slot, azure_app_service_conn_id)
        self.deferrable = deferrable
