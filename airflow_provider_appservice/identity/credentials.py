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
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential
from airflow_provider_appservice.tls import resolve_verify

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"

_sync_lock = threading.Lock()
_sync_credentials: dict[str, MaskingCredential] = {}
_async_credentials: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncMaskingCredential]] = (
    weakref.WeakKeyDictionary()
)


def _common(config: IdentityConfig) -> dict[str, Any]:
    return {"authority": config.cloud.authority_host, "connection_verify": resolve_verify(config.ca_bundle)}


def _bootstrap_label(config: IdentityConfig) -> str:
    if config.federated_token_file:
        return f"workload_identity:{config.client_id}@{config.tenant_id}(bootstrap)"
    return f"managed_identity:{config.managed_identity_client_id or 'system-assigned'}"


# --- sync -------------------------------------------------------------------------------


def _sync_managed_identity(config: IdentityConfig) -> TokenCredential:
    from azure.identity import ManagedIdentityCredential

    return ManagedIdentityCredential(
        client_id=config.managed_identity_client_id, connection_verify=resolve_verify(config.ca_bundle)
    )


def _sync_bootstrap(config: IdentityConfig) -> MaskingCredential:
    """The identity that reads the service principal's credential from Key Vault."""
    if config.federated_token_file:
        from azure.identity import WorkloadIdentityCredential

        inner: TokenCredential = WorkloadIdentityCredential(
            tenant_id=config.tenant,
            client_id=config.managed_identity_client_id or config.client,
            token_file_path=config.federated_token_file,
            **_common(config),
        )
    else:
        inner = _sync_managed_identity(config)
    return MaskingCredential(inner, _bootstrap_label(config))


def _build_sync(config: IdentityConfig) -> TokenCredential:
    import azure.identity as ai

    common = _common(config)
    kind = config.auth_type
    if kind == "managed_identity":
        return _sync_managed_identity(config)
    if kind == "workload_identity":
        return ai.WorkloadIdentityCredential(
            tenant_id=config.tenant,
            client_id=config.client,
            token_file_path=config.federated_token_file,
            **common,
        )
    if kind == "managed_identity_federated":
        mi = MaskingCredential(_sync_managed_identity(config), _bootstrap_label(config))
        return ai.ClientAssertionCredential(
            tenant_id=config.tenant,
            client_id=config.client,
            func=lambda: mi.get_token(TOKEN_EXCHANGE_SCOPE).token,
            **common,
        )
    if kind == "service_principal_secret":
        return ai.ClientSecretCredential(config.tenant, config.client, str(config.client_secret), **common)
    if kind == "service_principal_certificate":
        return ai.CertificateCredential(
            config.tenant,
            config.client,
            certificate_data=str(config.certificate_pem).encode(),
            password=config.certificate_password,
            **common,
        )
    if kind == "key_vault_service_principal":
        from airflow_provider_appservice.identity.keyvault import KeyVaultServicePrincipalCredential

        return KeyVaultServicePrincipalCredential(config, _sync_bootstrap(config))
    if kind == "default":
        return ai.DefaultAzureCredential(
            managed_identity_client_id=config.managed_identity_client_id,
            exclude_interactive_browser_credential=True,
            **common,
        )
    raise AssertionError(f"unhandled auth_type {kind}")  # config parsing rejects unknown types


def get_credential(config: IdentityConfig) -> MaskingCredential:
    """The process-wide sync credential for this connection's identity."""
    with _sync_lock:
        cred = _sync_credentials.get(config.fingerprint)
        if cred is None:
            cred = MaskingCredential(_build_sync(config), config.principal_label)
            _sync_credentials[config.fingerprint] = cred
        return cred


# --- async ------------------------------------------------------------------------------


def _async_managed_identity(config: IdentityConfig) -> AsyncTokenCredential:
    from azure.identity.aio import ManagedIdentityCredential

    return ManagedIdentityCredential(
        client_id=config.managed_identity_client_id, connection_verify=resolve_verify(config.ca_bundle)
    )


def _async_bootstrap(config: IdentityConfig) -> AsyncMaskingCredential:
    if config.federated_token_file:
        from azure.identity.aio import WorkloadIdentityCredential

        inner: AsyncTokenCredential = WorkloadIdentityCredential(
            tenant_id=config.tenant,
            client_id=config.managed_identity_client_id or config.client,
            token_file_path=config.federated_token_file,
            **_common(config),
        )
    else:
        inner = _async_managed_identity(config)
    return AsyncMaskingCredential(inner, _bootstrap_label(config))


def _build_async(config: IdentityConfig) -> AsyncTokenCredential:
    import azure.identity.aio as aio

    common = _common(config)
    kind = config.auth_type
    if kind == "managed_identity":
        return _async_managed_identity(config)
    if kind == "workload_identity":
        return aio.WorkloadIdentityCredential(
            tenant_id=config.tenant,
            client_id=config.client,
            token_file_path=config.federated_token_file,
            **common,
        )
    if kind == "managed_identity_federated":
        # azure-identity's async ClientAssertionCredential takes a *sync* callable, so the
        # managed-identity token for the exchange is fetched with the sync credential; it
        # runs about once an hour per identity against the host-local identity endpoint.
        mi = MaskingCredential(_sync_managed_identity(config), _bootstrap_label(config))
        return aio.ClientAssertionCredential(
            tenant_id=config.tenant,
            client_id=config.client,
            func=lambda: mi.get_token(TOKEN_EXCHANGE_SCOPE).token,
            **common,
        )
    if kind == "service_principal_secret":
        return aio.ClientSecretCredential(config.tenant, config.client, str(config.client_secret), **common)
    if kind == "service_principal_certificate":
        return aio.CertificateCredential(
            config.tenant,
            config.client,
            certificate_data=str(config.certificate_pem).encode(),
            password=config.certificate_password,
            **common,
        )
    if kind == "key_vault_service_principal":
        from airflow_provider_appservice.identity.keyvault import AsyncKeyVaultServicePrincipalCredential

        return AsyncKeyVaultServicePrincipalCredential(config, _async_bootstrap(config))
    if kind == "default":
        return aio.DefaultAzureCredential(
            managed_identity_client_id=config.managed_identity_client_id,
            **common,
        )
    raise AssertionError(f"unhandled auth_type {kind}")


def get_async_credential(config: IdentityConfig) -> AsyncMaskingCredential:
    """The async credential for this identity, shared by everything in the running loop."""
    loop = asyncio.get_running_loop()
    per_loop = _async_credentials.setdefault(loop, {})
    cred = per_loop.get(config.fingerprint)
    if cred is None:
        cred = AsyncMaskingCredential(_build_async(config), config.principal_label)
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
