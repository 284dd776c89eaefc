"""AppServiceHook: one connection's identity and every client and pipeline it uses.

Operations are plain functions in ``operations/`` that take the clients this hook hands out;
the hook offers them as methods for TaskFlow code (``hooks/operations.py``), each a thin call
that the operators make too. It hands out
every client — ARM, SCM (Kudu) pipelines, app pipelines — sync and async; nothing else
builds one. Sync clients are cached on the hook instance by their parameters and closed
by :meth:`AppServiceHook.close` (or leaving ``with hook:``). Async clients are shared per
(event loop, identity, kind and its parameters) through one reference-counted cache and
closed when their last user leaves; the loop's credentials are closed with its last client.
Nothing from ``azure.`` is imported at module level, so DAG files that import operators
stay cheap.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import AppServiceError, AzureRequestError
from airflow_provider_appservice.hooks.operations import AppServiceOperations

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient, PipelineClient
    from azure.mgmt.web import WebSiteManagementClient
    from azure.mgmt.web.aio import WebSiteManagementClient as AsyncWebSiteManagementClient

    from airflow_provider_appservice.identity.config import IdentityConfig
    from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential


@dataclass
class _Shared:
    client: Any
    users: int = 0


# Async clients shared by every trigger of one event loop (DESIGN: one client per (loop,
# connection)), keyed by kind, identity fingerprint and the client's own parameters (audience,
# pinned hosts, base URL); reference-counted and closed when the last user leaves.
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _Shared]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def _shared(key: tuple[Any, ...], build: Callable[[], Any]) -> AsyncIterator[Any]:
    """The loop's client for ``key`` (built on first use), closed by its last user.

    The last client of the loop to leave also closes the loop's credentials. Runs on normal
    exit, on error and when the triggerer cancels a trigger.
    """
    from airflow_provider_appservice.identity.credentials import close_async_credentials

    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    shared = per_loop.get(key)
    if shared is None:
        shared = per_loop[key] = _Shared(build())
    shared.users += 1
    try:
        yield shared.client
    finally:
        shared.users -= 1
        if shared.users == 0:
            if per_loop.get(key) is shared:
                del per_loop[key]
            try:
                await shared.client.close()
            finally:
                if not per_loop:  # checked after the await: a newcomer may have arrived
                    _async_clients.pop(loop, None)
                    await close_async_credentials()


def _app_key(config: IdentityConfig, scope: str | None, hosts: Iterable[str], base_url: str) -> tuple[Any, ...]:
    return ("app", config.fingerprint, scope, tuple(sorted(set(hosts))), config.allowed_hosts, base_url)


def config_from_connection(conn: Any) -> IdentityConfig:
    """Check an Airflow Connection and return its identity settings.

    The raw ``extra`` is read, not ``extra_dejson``, which hides text that is not a JSON object.
    """
    from airflow_provider_appservice.identity.config import parse_identity_config
    from airflow_provider_appservice.identity.fields import extras_of

    extras = extras_of(conn.extra)
    return parse_identity_config(conn.conn_id, login=conn.login, password=conn.password, extras=extras)


class AppServiceHook(AppServiceOperations, BaseHook):
    """Credential and every client (ARM, SCM, app; sync and async) of one ``azure_app_service``
    connection. Use it as a context manager (or call :meth:`close`) to close the sync clients.

    :param azure_app_service_conn_id: the connection to use.
    """

    conn_name_attr = "azure_app_service_conn_id"
    default_conn_name = "azure_app_service_default"
    conn_type = "azure_app_service"
    hook_name = "Azure App Service"

    def __init__(
        self, azure_app_service_conn_id: str = default_conn_name, clock: Clock | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.azure_app_service_conn_id = azure_app_service_conn_id
        # The one clock of every wait this hook's clients and operations make (``clock``).
        self.clock: Clock = clock or default_clock()
        self._clients: dict[tuple[Any, ...], Any] = {}

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
        from airflow_provider_appservice.transport.arm import build_arm_client

        return self._cached(("arm",), lambda: build_arm_client(self.identity, self.get_credential(), self.clock))

    def get_scm_client(self, scm_host: str) -> PipelineClient:
        """The sync pipeline to a site's SCM (Kudu) host, ARM token pinned to it (cached on the hook).

        ``scm_host`` must come from ARM (the site's ``hostNameSslStates``), never from a user.
        """
        from airflow_provider_appservice.transport.scm import build_scm_client

        return self._cached(
            ("scm", scm_host.lower()),
            lambda: build_scm_client(self.identity, self.get_credential(), scm_host, self.clock),
        )

    def get_app_client(self, scope: str | None, hosts: Iterable[str], base_url: str) -> PipelineClient:
        """The sync pipeline to an app (cached on the hook): a token for ``scope`` (an audience
        ``identity.audiences`` allowed) pinned to ``hosts`` and the connection's ``allowed_hosts``,
        or anonymous when ``scope`` is None."""
        from airflow_provider_appservice.transport.app import build_app_client

        hosts = list(hosts)
        credential = self.get_credential() if scope else None
        return self._cached(
            _app_key(self.identity, scope, hosts, base_url),
            lambda: build_app_client(self.identity, credential, scope, hosts, base_url, self.clock),
        )

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = build()
        return client

    def close(self) -> None:
        """Close every sync client this hook handed out; the next request builds new ones.

        The process-wide credential stays (it is shared by every hook of the identity).
        """
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> AppServiceHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_arm_token(self) -> str:
        """An ARM token for this identity (masked already).

        Raises ``AuthenticationFailed`` (or ``AuthenticationUnavailable``): the credential itself
        classifies a failed token request (``identity.tokens``)."""
        return self.get_credential().get_token(self.identity.cloud.arm_scope).token

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

        Reference-counted: the client (and, when the loop has no clients left, the loop's
        credentials) is closed when the last user leaves — on normal exit, on error and
        when the triggerer cancels a trigger.
        """
        from airflow_provider_appservice.identity.credentials import get_async_credential
        from airflow_provider_appservice.transport.arm import build_async_arm_client

        config = await self.aget_identity()
        key = ("arm", config.fingerprint, config.subscription_id)
        async with _shared(
            key, lambda: build_async_arm_client(config, get_async_credential(config), self.clock)
        ) as client:
            yield client

    @asynccontextmanager
    async def shared_scm_client(self, scm_host: str) -> AsyncIterator[AsyncPipelineClient]:
        """The async SCM (Kudu) pipeline to ``scm_host`` shared in the running loop (see
        :meth:`shared_arm_client`); ``scm_host`` must come from ARM."""
        from airflow_provider_appservice.identity.credentials import get_async_credential
        from airflow_provider_appservice.transport.scm import build_async_scm_client

        config = await self.aget_identity()
        key = ("scm", config.fingerprint, scm_host.lower())
        async with _shared(
            key, lambda: build_async_scm_client(config, get_async_credential(config), scm_host, self.clock)
        ) as c:
            yield c

    @asynccontextmanager
    async def shared_app_client(
        self, scope: str | None, hosts: Iterable[str], base_url: str
    ) -> AsyncIterator[AsyncPipelineClient]:
        """The async app pipeline (see :meth:`get_app_client`) shared in the running loop per
        (identity, audience, pinned hosts, base URL), closed by its last user."""
        from airflow_provider_appservice.identity.credentials import get_async_credential
        from airflow_provider_appservice.transport.app import build_async_app_client

        config = await self.aget_identity()
        hosts = list(hosts)

        def build() -> AsyncPipelineClient:
            credential = get_async_credential(config) if scope else None
            return build_async_app_client(config, credential, scope, hosts, base_url, self.clock)

        async with _shared(_app_key(config, scope, hosts, base_url), build) as client:
            yield client

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
            from airflow_provider_appservice.permissions import declared

            with declared("AppServiceHook.test_connection"):
                count = count_sites(self.get_conn(), config.resource_group)
            return True, f"{who}; it can read {count} app(s) in resource group '{config.resource_group}'."
        except AzureRequestError as exc:
            summary = ", ".join(str(p) for p in (f"HTTP {exc.status}", exc.code, exc.request_id) if p)
            fix = f" {exc.hint}." if exc.hint else ""
            if exc.status == 403:
                fix += " Operators that change apps need more: see 'Least-privilege roles' in the connections docs."
            return False, f"{exc.action} failed ({summary}).{fix}"
        except AppServiceError as exc:
            return False, str(exc)
        except Exception as exc:
            return False, f"Connection test failed: {type(exc).__name__}."
