"""Key Vault bootstrap: a service principal whose secret or certificate lives in Key Vault.

A managed or workload identity (no secret) reads the credential at run time, on the
first token request, so Airflow stores nothing long-lived. The value is masked the
moment it arrives. Key Vault certificates stored as secrets are PKCS#12 unless their
content type says PEM, so the content type decides how the value is read.
"""

from __future__ import annotations

import base64
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_appservice.errors import AppServiceError, ConnectionConfigError
from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential
from airflow_provider_appservice.wire.tls import resolve_verify

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

PEM = "application/x-pem-file"
PKCS12 = "application/x-pkcs12"
_SECRET_TYPES = (None, "", "text/plain")


def _client_kwargs(config: IdentityConfig) -> dict[str, Any]:
    from airflow_provider_appservice.wire.pinning import TokenPinningPolicy

    host = urlsplit(str(config.key_vault_url)).hostname or ""
    return {
        "connection_verify": resolve_verify(config.ca_bundle),
        "custom_hook_policy": TokenPinningPolicy("Key Vault", [host]),
    }


def _describe_failure(config: IdentityConfig, exc: Exception) -> AppServiceError:
    """A vault error through the one error boundary, with the bootstrap's own fixes; never the body.

    403/401: the bootstrap identity may not read the secret; 404: the secret does not exist —
    both permanent. 429/5xx and a vault that does not answer are transient.
    """
    from airflow_provider_appservice.boundary import classify

    where = f"secret '{config.key_vault_secret_name}' in {config.key_vault_url}"
    hints = {
        401: "Grant the bootstrap identity the 'Key Vault Secrets User' role on the vault",
        403: "Grant the bootstrap identity the 'Key Vault Secrets User' role on the vault",
        404: "Check key_vault_secret_name, or create the secret",
    }
    return classify(
        f"Key Vault bootstrap: reading {where}",
        exc,
        hint=hints.get(getattr(exc, "status_code", None) or 0),
    )


def _credential_kwargs(config: IdentityConfig, value: str, content_type: str | None) -> dict[str, Any]:
    """What to pass to ClientSecretCredential / CertificateCredential for this secret."""
    common = {"authority": config.cloud.authority_host, "connection_verify": resolve_verify(config.ca_bundle)}
    if content_type in _SECRET_TYPES:
        return {"client_secret": value, **common}
    if content_type == PEM:
        return {"certificate_data": value.encode(), "password": config.certificate_password, **common}
    if content_type == PKCS12:
        try:
            data = base64.b64decode(value, validate=True)
        except ValueError:
            raise ConnectionConfigError(
                "key_vault_secret_name",
                "holds a PKCS#12 certificate that is not valid base64",
                "import the certificate into Key Vault again",
            ) from None
        return {"certificate_data": data, "password": config.certificate_password, **common}
    raise ConnectionConfigError(
        "key_vault_secret_name",
        f"has content type '{content_type}', which is neither a secret, {PEM} nor {PKCS12}",
        "store the client secret as plain text or the certificate as PEM or PKCS#12",
    )


class KeyVaultServicePrincipalCredential:
    """Sync: read the SP's credential from Key Vault on first use, then act as that SP."""

    def __init__(self, config: IdentityConfig, bootstrap: MaskingCredential) -> None:
        self._config = config
        self._bootstrap = bootstrap
        self._inner: TokenCredential | None = None
        self._lock = threading.Lock()

    def _resolve(self) -> TokenCredential:
        with self._lock:
            if self._inner is None:
                from azure.core.exceptions import AzureError
                from azure.identity import CertificateCredential, ClientSecretCredential
                from azure.keyvault.secrets import SecretClient

                from airflow_provider_appservice.identity.tokens import _mask

                cfg = self._config
                try:
                    with SecretClient(str(cfg.key_vault_url), self._bootstrap, **_client_kwargs(cfg)) as client:
                        secret = client.get_secret(str(cfg.key_vault_secret_name))
                except AzureError as exc:
                    raise _describe_failure(cfg, exc) from None
                value = secret.value or ""
                _mask(value)
                kwargs = _credential_kwargs(cfg, value, secret.properties.content_type)
                if "client_secret" in kwargs:
                    self._inner = ClientSecretCredential(cfg.tenant, cfg.client, **kwargs)
                else:
                    self._inner = CertificateCredential(cfg.tenant, cfg.client, **kwargs)
            return self._inner

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._resolve().get_token(*scopes, **kwargs)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        inner: Any = self._resolve()
        return inner.get_token_info(*scopes, options=options)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()  # type: ignore[attr-defined]
        self._bootstrap.close()

    def __enter__(self) -> KeyVaultServicePrincipalCredential:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class AsyncKeyVaultServicePrincipalCredential:
    """Async twin of :class:`KeyVaultServicePrincipalCredential`, for triggers."""

    def __init__(self, config: IdentityConfig, bootstrap: AsyncMaskingCredential) -> None:
        import asyncio

        self._config = config
        self._bootstrap = bootstrap
        self._inner: AsyncTokenCredential | None = None
        self._lock = asyncio.Lock()

    async def _resolve(self) -> AsyncTokenCredential:
        async with self._lock:
            if self._inner is None:
                from azure.core.exceptions import AzureError
                from azure.identity.aio import CertificateCredential, ClientSecretCredential
                from azure.keyvault.secrets.aio import SecretClient

                from airflow_provider_appservice.identity.tokens import _amask

                cfg = self._config
                try:
                    async with SecretClient(str(cfg.key_vault_url), self._bootstrap, **_client_kwargs(cfg)) as client:
                        secret = await client.get_secret(str(cfg.key_vault_secret_name))
                except AzureError as exc:
                    raise _describe_failure(cfg, exc) from None
                value = secret.value or ""
                await _amask(value)
                kwargs = _credential_kwargs(cfg, value, secret.properties.content_type)
                if "client_secret" in kwargs:
                    self._inner = ClientSecretCredential(cfg.tenant, cfg.client, **kwargs)
                else:
                    self._inner = CertificateCredential(cfg.tenant, cfg.client, **kwargs)
            return self._inner

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return await (await self._resolve()).get_token(*scopes, **kwargs)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        inner: Any = await self._resolve()
        return await inner.get_token_info(*scopes, options=options)

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
        await self._bootstrap.close()

    async def __aenter__(self) -> AsyncKeyVaultServicePrincipalCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()
