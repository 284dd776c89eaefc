"""Build the one azure-identity credential a connection describes, sync or async.

Credentials are cached per process (sync) and per event loop (async) by the
connection's fingerprint: azure-identity caches tokens per credential *instance*, so
sharing the instance is what gives one token request per (identity, audience) while the
token is valid. The SDK imports happen inside the builders so importing a hook or
operator module costs nothing at DAG-parse time.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Any

from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential
from airflow_provider_appservice.wire.tls import resolve_verify

TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"

_sync_lock = threading.Lock()
_sync_credentials: dict[str, MaskingCredential] = {}
_async_credentials: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncMaskingCredential]] = (
    weakref.WeakKeyDictionary()
)


def _explainer(config: IdentityConfig, who: str | None = None) -> Callable[[BaseException], BaseException]:
    """How this identity's token failures read: ``identity.failures`` with the right principal."""
    from airflow_provider_appservice.identity.failures import describe_auth_failure

    return lambda exc: describe_auth_failure(config, exc, who=who)


def _transport(config: IdentityConfig, aio: bool) -> Any:
    """The token requests' transport: azure-identity's own retries (Entra 5xx) wait on the clock."""
    from airflow_provider_appservice.clock import default_clock
    from airflow_provider_appservice.wire.clocked import requests_transport
    from airflow_provider_appservice.wire.tls import aiohttp_transport

    if aio:
        return aiohttp_transport(config.ca_bundle, default_clock())
    return requests_transport(default_clock(), connection_verify=resolve_verify(config.ca_bundle))


def _common(config: IdentityConfig, aio: bool) -> dict[str, Any]:
    return {"authority": config.cloud.authority_host, "transport": _transport(config, aio)}


def _bootstrap_label(config: IdentityConfig) -> str:
    if config.federated_token_file:
        return f"workload_identity:{config.client_id}@{config.tenant_id}(bootstrap)"
    return f"managed_identity:{config.managed_identity_client_id or 'system-assigned'}"


def _managed_identity(config: IdentityConfig, aio: bool) -> Any:
    ns = _identity_module(aio)
    return ns.ManagedIdentityCredential(client_id=config.managed_identity_client_id, transport=_transport(config, aio))


def _identity_module(aio: bool) -> Any:
    """``azure.identity`` or ``azure.identity.aio``: same class names, so one builder serves both."""
    import importlib

    return importlib.import_module("azure.identity.aio" if aio else "azure.identity")


def _bootstrap(config: IdentityConfig, aio: bool) -> MaskingCredential | AsyncMaskingCredential:
    """The identity that reads the service principal's credential from Key Vault (masked too)."""
    if config.federated_token_file:
        inner = _identity_module(aio).WorkloadIdentityCredential(
            tenant_id=config.tenant,
            client_id=config.managed_identity_client_id or config.client,
            token_file_path=config.federated_token_file,
            **_common(config, aio),
        )
    else:
        inner = _managed_identity(config, aio)
    wrapper = AsyncMaskingCredential if aio else MaskingCredential
    return wrapper(inner, _bootstrap_label(config), explain=_explainer(config, _bootstrap_label(config)))


class AsyncFederatedCredential:
    """``managed_identity_federated`` for event loops: the managed-identity assertion is *awaited*.

    azure-identity's ``ClientAssertionCredential`` calls a sync ``func`` even in its aio flavour,
    so a managed-identity request made there blocks the loop for as long as the identity
    endpoint takes. Here the async managed-identity credential is awaited first (a cache hit
    while its token is valid) and ``func`` only hands over the assertion it got.
    """

    def __init__(self, mi: AsyncMaskingCredential, exchange: Callable[[Callable[[], str]], Any]) -> None:
        self._mi = mi
        self._assertion = ""
        self._inner = exchange(lambda: self._assertion)

    async def _refresh(self) -> None:
        self._assertion = (await self._mi.get_token(TOKEN_EXCHANGE_SCOPE)).token

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        await self._refresh()
        return await self._inner.get_token(*scopes, **kwargs)

    async def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        await self._refresh()
        return await self._inner.get_token_info(*scopes, options=options)

    async def close(self) -> None:
        try:
            await self._inner.close()
        finally:
            await self._mi.close()


def _build(config: IdentityConfig, aio: bool) -> Any:
    """The azure-identity credential for the connection's auth type, sync or async."""
    ns = _identity_module(aio)
    common = _common(config, aio)
    kind = config.auth_type
    if kind == "managed_identity":
        return _managed_identity(config, aio)
    if kind == "workload_identity":
        return ns.WorkloadIdentityCredential(
            tenant_id=config.tenant, client_id=config.client, token_file_path=config.federated_token_file, **common
        )
    if kind == "managed_identity_federated":
        label = _bootstrap_label(config)
        if aio:  # never a blocking managed-identity call inside the triggerer's event loop
            mi_async = AsyncMaskingCredential(
                _managed_identity(config, aio=True), label, explain=_explainer(config, label)
            )
            return AsyncFederatedCredential(
                mi_async,
                lambda func: ns.ClientAssertionCredential(
                    tenant_id=config.tenant, client_id=config.client, func=func, **common
                ),
            )
        mi = MaskingCredential(_managed_identity(config, aio=False), label, explain=_explainer(config, label))
        return ns.ClientAssertionCredential(
            tenant_id=config.tenant,
            client_id=config.client,
            func=lambda: mi.get_token(TOKEN_EXCHANGE_SCOPE).token,
            **common,
        )
    if kind == "service_principal_secret":
        return ns.ClientSecretCredential(config.tenant, config.client, str(config.client_secret), **common)
    if kind == "service_principal_certificate":
        return ns.CertificateCredential(
            config.tenant,
            config.client,
            certificate_data=str(config.certificate_pem).encode(),
            password=config.certificate_password,
            **common,
        )
    if kind == "key_vault_service_principal":
        from airflow_provider_appservice.identity import keyvault

        cls = keyvault.AsyncKeyVaultServicePrincipalCredential if aio else keyvault.KeyVaultServicePrincipalCredential
        return cls(config, _bootstrap(config, aio))  # type: ignore[arg-type]
    if kind == "default":
        return ns.DefaultAzureCredential(managed_identity_client_id=config.managed_identity_client_id, **common)
    raise AssertionError(f"unhandled auth_type {kind}")  # config parsing rejects unknown types


def get_credential(config: IdentityConfig) -> MaskingCredential:
    """The process-wide sync credential for this connection's identity."""
    with _sync_lock:
        cred = _sync_credentials.get(config.fingerprint)
        if cred is None:
            cred = MaskingCredential(
                _build(config, aio=False),
                config.principal_label,
                rebuild=lambda: _build(config, aio=False),
                explain=_explainer(config),
            )
            _sync_credentials[config.fingerprint] = cred
        return cred


def get_async_credential(config: IdentityConfig) -> AsyncMaskingCredential:
    """The async credential for this identity, shared by everything in the running loop."""
    loop = asyncio.get_running_loop()
    per_loop = _async_credentials.setdefault(loop, {})
    cred = per_loop.get(config.fingerprint)
    if cred is None:
        cred = AsyncMaskingCredential(
            _build(config, aio=True),
            config.principal_label,
            rebuild=lambda: _build(config, aio=True),
            explain=_explainer(config),
        )
        per_loop[config.fingerprint] = cred
    return cred


async def close_async_credentials() -> None:
    """Close every async credential of the running loop (its aiohttp sessions die with it)."""
    per_loop = _async_credentials.pop(asyncio.get_running_loop(), {})
    for cred in per_loop.values():
        await cred.close()


def reset_sync_credentials() -> None:
    """Forget cached sync credentials (tests; a rotated secret gets a new one anyway)."""
    with _sync_lock:
        creds = list(_sync_credentials.values())
        _sync_credentials.clear()
    for cred in creds:
        cred.close()
