"""ARM clients: the SDK's own WebSiteManagementClient, tuned and pinned from the connection.

The cloud choice sets endpoint and scope (``cloud_setting``); the retry policy is tuned
from the connection's retry fields; the ARM token is pinned to the cloud's ARM host,
LRO poller URLs included; a 401 gets one token renewal (``transport.bearer``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.transport.bearer import bearer_policy
from airflow_provider_appservice.wire.clocked import requests_transport
from airflow_provider_appservice.wire.tls import resolve_verify

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient
    from azure.mgmt.web.aio import WebSiteManagementClient as AsyncWebSiteManagementClient

    from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential


def arm_client_kwargs(config: IdentityConfig) -> dict[str, Any]:
    """Keyword arguments shared by the sync and async ARM clients."""
    from azure.core import AzureClouds

    from airflow_provider_appservice.wire.pinning import TokenPinningPolicy

    return {
        "cloud_setting": AzureClouds[config.cloud.sdk_name],
        "credential_scopes": [config.cloud.arm_scope],
        "connection_verify": resolve_verify(config.ca_bundle),
        "retry_total": config.retry_max_attempts - 1,
        "retry_backoff_max": config.retry_max_delay_seconds,
        "custom_hook_policy": TokenPinningPolicy("ARM", [config.cloud.arm_host]),
    }


def build_arm_client(config: IdentityConfig, credential: MaskingCredential, clock: Clock) -> WebSiteManagementClient:
    """The sync ARM client; its retry and LRO-polling sleeps run on ``clock``."""
    from azure.mgmt.web import WebSiteManagementClient

    kwargs = arm_client_kwargs(config)
    return WebSiteManagementClient(
        credential,
        config.require_subscription(),
        transport=requests_transport(clock, connection_verify=kwargs.pop("connection_verify")),
        authentication_policy=bearer_policy(credential, config.cloud.arm_scope, aio=False),
        **kwargs,
    )


def build_async_arm_client(
    config: IdentityConfig, credential: AsyncMaskingCredential, clock: Clock
) -> AsyncWebSiteManagementClient:
    from azure.mgmt.web.aio import WebSiteManagementClient

    from airflow_provider_appservice.wire.tls import aiohttp_transport

    kwargs = arm_client_kwargs(config)
    kwargs.pop("connection_verify")
    return WebSiteManagementClient(
        credential,
        config.require_subscription(),
        transport=aiohttp_transport(config.ca_bundle, clock),
        authentication_policy=bearer_policy(credential, config.cloud.arm_scope, aio=True),
        **kwargs,
    )


class ResponseIds:
    """Pass as ``cls=`` to an SDK call to keep ARM's request and correlation ids for audit lines."""

    def __init__(self) -> None:
        self.request_id: str | None = None
        self.correlation_id: str | None = None
        self.status: int | None = None

    def __call__(self, pipeline_response: Any, deserialized: Any, headers: Any) -> Any:
        response = pipeline_response.http_response
        self.status = response.status_code
        self.request_id = response.headers.get("x-ms-request-id")
        self.correlation_id = response.headers.get("x-ms-correlation-request-id")
        return deserialized
