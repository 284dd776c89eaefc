"""ARM clients: the SDK's own WebSiteManagementClient, tuned and pinned from the connection.

The cloud choice sets endpoint and scope (``cloud_setting``); the retry policy is tuned
from the connection's retry fields; the ARM token is pinned to the cloud's ARM host,
LRO poller URLs included.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.tls import resolve_verify

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient
    from azure.mgmt.web.aio import WebSiteManagementClient as AsyncWebSiteManagementClient

    from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential


@functools.cache
def _renewing_policies() -> tuple[type, type]:
    """ARM bearer policies that answer a 401 with one token renewal, then give up.

    azure-core calls ``on_challenge`` once per request for a 401 carrying WWW-Authenticate and
    re-sends once if it returns True; by default it does so only for CAE claims challenges.
    Here any 401 also renews the credential (an empty cache, so a genuinely new token) and is
    re-sent once: a token ARM rejects as expired or revoked is replaced; a second 401 fails.
    """
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, AsyncARMChallengeAuthenticationPolicy

    class RenewingARMPolicy(ARMChallengeAuthenticationPolicy):
        def on_challenge(self, request: Any, response: Any) -> bool:
            if super().on_challenge(request, response):
                return True
            if not getattr(self._credential, "renew", lambda: False)():
                return False
            self.authorize_request(request, *self._scopes)
            return True

    class AsyncRenewingARMPolicy(AsyncARMChallengeAuthenticationPolicy):
        async def on_challenge(self, request: Any, response: Any) -> bool:
            if await super().on_challenge(request, response):
                return True
            renew = getattr(self._credential, "arenew", None)
            if renew is None or not await renew():
                return False
            await self.authorize_request(request, *self._scopes)
            return True

    return RenewingARMPolicy, AsyncRenewingARMPolicy


def arm_client_kwargs(config: IdentityConfig) -> dict[str, Any]:
    """Keyword arguments shared by the sync and async ARM clients."""
    from azure.core import AzureClouds

    from airflow_provider_appservice.pinning import TokenPinningPolicy

    return {
        "cloud_setting": AzureClouds[config.cloud.sdk_name],
        "credential_scopes": [config.cloud.arm_scope],
        "connection_verify": resolve_verify(config.ca_bundle),
        "retry_total": config.retry_max_attempts - 1,
        "retry_backoff_max": config.retry_max_delay_seconds,
        "custom_hook_policy": TokenPinningPolicy("ARM", [config.cloud.arm_host]),
    }


def build_arm_client(config: IdentityConfig, credential: MaskingCredential) -> WebSiteManagementClient:
    from azure.mgmt.web import WebSiteManagementClient

    sync_policy, _ = _renewing_policies()
    return WebSiteManagementClient(
        credential,
        config.require_subscription(),
        authentication_policy=sync_policy(credential, config.cloud.arm_scope),
        **arm_client_kwargs(config),
    )


def build_async_arm_client(config: IdentityConfig, credential: AsyncMaskingCredential) -> AsyncWebSiteManagementClient:
    from azure.mgmt.web.aio import WebSiteManagementClient

    from airflow_provider_appservice.tls import aiohttp_transport

    kwargs = arm_client_kwargs(config)
    kwargs.pop("connection_verify")
    _, async_policy = _renewing_policies()
    return WebSiteManagementClient(
        credential,
        config.require_subscription(),
        transport=aiohttp_transport(config.ca_bundle),
        authentication_policy=async_policy(credential, config.cloud.arm_scope),
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
