"""azure-core pipelines for a site's SCM (Kudu) host, authenticated with the ARM token.

Kudu accepts an Entra bearer token for the ARM audience, so deployments work where SCM
basic auth is disabled and publishing credentials are never fetched. The SCM host comes
from the site's own host names (``hostNameSslStates``), never built from the app name,
and the ARM token is pinned to it. Retries are not azure-core's here: the caller's
tenacity layer owns them (one retry layer per call), so the pipeline's RetryPolicy is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.tls import resolve_verify

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient, PipelineClient

    from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential

USER_AGENT = "airflow-provider-appservice"


def _policies(config: IdentityConfig, bearer: Any, host: str, audience_label: str) -> list[Any]:
    from azure.core.pipeline import policies

    from airflow_provider_appservice.pinning import TokenPinningPolicy

    return [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker=USER_AGENT),
        policies.ProxyPolicy(),
        policies.ContentDecodePolicy(),
        # Kudu redirects nowhere useful; a redirect is refused rather than followed with a token.
        policies.RedirectPolicy(permit_redirects=False),
        policies.RetryPolicy(retry_total=0),
        bearer,
        TokenPinningPolicy(audience_label, [host]),
        policies.NetworkTraceLoggingPolicy(),
        policies.HttpLoggingPolicy(),
    ]


def build_scm_client(config: IdentityConfig, credential: MaskingCredential, scm_host: str) -> PipelineClient:
    """A sync pipeline to ``https://<scm_host>`` carrying the ARM token, pinned to that host."""
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy
    from azure.core.pipeline.transport import RequestsTransport

    bearer = BearerTokenCredentialPolicy(credential, config.cloud.arm_scope)
    return PipelineClient(
        base_url=f"https://{scm_host}",
        policies=_policies(config, bearer, scm_host, "ARM (SCM)"),
        transport=RequestsTransport(connection_verify=resolve_verify(config.ca_bundle)),
    )


def build_async_scm_client(
    config: IdentityConfig, credential: AsyncMaskingCredential, scm_host: str
) -> AsyncPipelineClient:
    """Async twin of :func:`build_scm_client`, for triggers."""
    from azure.core import AsyncPipelineClient
    from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy
    from azure.core.pipeline.transport import AioHttpTransport

    bearer = AsyncBearerTokenCredentialPolicy(credential, config.cloud.arm_scope)
    return AsyncPipelineClient(
        base_url=f"https://{scm_host}",
        policies=_policies(config, bearer, scm_host, "ARM (SCM)"),
        transport=AioHttpTransport(connection_verify=resolve_verify(config.ca_bundle)),
    )
