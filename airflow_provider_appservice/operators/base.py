"""The base every App Service operator builds on (the AWS provider's ``AwsBaseOperator`` pattern).

The connection, target, cached hook and retry policy come from
:mod:`airflow_provider_appservice.common.mixins`, which the sensors' base shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_appservice.common.mixins import APP_SERVICE_RETRY_POLICY, TARGET_FIELDS, AppServiceTargetMixin
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.links.portal import AppServicePortalLink

# TARGET_FIELDS stays importable from here while sensors/state.py and sensors/health.py import it
# from this module (being edited elsewhere); new code imports it from common.mixins.
__all__ = ["TARGET_FIELDS", "AppServiceBaseOperator"]


class AppServiceBaseOperator(AppServiceTargetMixin, BaseOperator):
    """Base for operators acting on one App Service app or slot (see AppServiceTargetMixin)."""

    template_fields: Sequence[str] = TARGET_FIELDS
    ui_color = "#cce4f6"
    operator_extra_links = (AppServicePortalLink(),)

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retry_policy", APP_SERVICE_RETRY_POLICY)
        super().__init__(**kwargs)
        self._init_target(app_name, resource_group, slot, azure_app_service_conn_id)
