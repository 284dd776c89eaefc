"""AppServiceHook: one connection's identity and its cached ARM clients.

The hook is not a facade of every App Service operation: operations are plain
functions in ``operations/`` that take the clients this hook hands out. Nothing from
``azure.`` is imported at module level, so DAG files that import operators stay cheap.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_appservice.errors import AppServiceError, AzureRequestError

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient
    from azure.mgmt.web.aio import WebSiteManagementClient as AsyncWebSiteManagementClient

    from airflow_provider_appservice.identity.config import IdentityConfig
    from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential


@dataclass
class _Shared:
    client: AsyncWebSiteManagementClient
    users: int = 0


# Async ARM clients shared by every trigger of one event loop and identity (DESIGN: one
# client per (loop, connection)), reference-counted and closed when the last user leaves.
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shared]] = weakref.WeakKeyDictionary()


def config_from_connection(conn: Any) -> IdentityConfig:
    """Check an Airflow Connection and return its identity settings."""
    from airflow_provider_appservice.identity.config import parse_identity_config

    return parse_identity_config(conn.conn_id, login=conn.login, password=conn.password, extras=conn.extra_dejson or {})


class AppServiceHook(BaseHook):
    """Credential and ARM clients for one ``azure_app_service`` connection.

    :param azure_app_service_conn_id: the connection to use.
    """

    conn_name_attr = "azure_app_service_conn_id"
    default_conn_name = "azure_app_service_default"
    conn_type = "azure_app_service"
    hook_name = "Azure App Service"

    def __init__(self, azure_app_service_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.azure_app_service_conn_id = azure_app_service_conn_id

    # --- sync (workers) -------------------------------------------------------------------

    @cached_property
    def identity(self) -> IdentityConfig:
        """The connection's identity settings, checked before any network call."""
        return config_from_connection(self.get_connection(self.azure_app_service_conn_id))

    def get_credential(self) -> MaskingCredential:
        from airflow_provider_appservice.identity.credentials import get_credential

        return get_credential(self.identity)

    def get_conn(self) -> WebSiteManagementClient:
        """The sync ARM client (cached on the hook)."""
        return self._arm_client

    @cached_property
    def _arm_client(self) -> WebSiteManagementClient:
        from airflow_provider_appservice.transport.arm import build_arm_client

        return build_arm_client(self.identity, self.get_credential())

    def get_arm_token(self) -> str:
        """An ARM token for this identity (masked already); raises AuthenticationFailed."""
        from azure.core.exceptions import ClientAuthenticationError

        from airflow_provider_appservice.identity.failures import describe_auth_failure

        try:
            return self.get_credential().get_token(self.identity.cloud.arm_scope).token
        except ClientAuthenticationError as exc:
            raise describe_auth_failure(self.identity, exc) from None

    # --- async (triggerer) ----------------------------------------------------------------

    async def aget_identity(self) -> IdentityConfig:
        from airflow.providers.common.compat.connection import get_async_connection

        return config_from_connection(await get_async_connection(self.azure_app_service_conn_id, self))

    async def aget_credential(self) -> AsyncMaskingCredential:
        from airflow_provider_appservice.identity.credentials import get_async_credential

        return get_async_credential(await self.aget_identity())

    @asynccontextmanager
    async def shared_arm_client(self) -> AsyncIterator[AsyncWebSiteManagementClient]:
        """The async ARM client shared by everything in the running loop for this identity.

        Reference-counted: the client (and, when the loop has no users left, the loop's
        credentials) is closed when the last user leaves — on normal exit, on error and
        when the triggerer cancels a trigger.
        """
        from airflow_provider_appservice.identity.credentials import close_async_credentials, get_async_credential
        from airflow_provider_appservice.transport.arm import build_async_arm_client

        config = await self.aget_identity()
        loop = asyncio.get_running_loop()
        per_loop = _async_clients.setdefault(loop, {})
        key = f"{config.fingerprint}/{config.subscription_id}"
        shared = per_loop.get(key)
        if shared is None:
            shared = per_loop[key] = _Shared(build_async_arm_client(config, get_async_credential(config)))
        shared.users += 1
        try:
            yield shared.client
        finally:
            shared.users -= 1
            if shared.users == 0:
                per_loop.pop(key, None)
                await shared.client.close()
                if not per_loop:
                    _async_clients.pop(loop, None)
                    await close_async_credentials()

    @staticmethod
    def shared_client_count() -> int:
        """How many shared async clients the running loop holds (for tests and benchmarks)."""
        return len(_async_clients.get(asyncio.get_running_loop(), {}))

    # --- connection test ------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Get an ARM token and, when a resource group is set, list its apps.

        Runs where it is called: the UI's Test button runs it in the API server (proving
        *that* process's identity), ``enqueue-test`` on a worker. Never echoes a body.
        """
        try:
            config = self.identity
            self.get_arm_token()
            who = f"Authenticated as {config.principal_label} in the '{config.cloud.name}' cloud"
            if not (config.subscription_id and config.resource_group):
                return True, who + " (set subscription_id and resource_group to also check read access)."
            from airflow_provider_appservice.operations.sites import count_sites

            count = count_sites(self.get_conn(), config.resource_group)
            return True, f"{who}; it can read {count} app(s) in resource group '{config.resource_group}'."
        except AzureRequestError as exc:
            summary = ", ".join(str(p) for p in (f"HTTP {exc.status}", exc.code, exc.request_id) if p)
            return False, f"{exc.action} failed ({summary})."
        except AppServiceError as exc:
            return False, str(exc)
        except Exception as exc:
            return False, f"Connection test failed: {type(exc).__name__}."
