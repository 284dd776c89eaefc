"""azure-core pipelines for a site's SCM (Kudu) host, authenticated with an App Service token.

Kudu accepts an Entra bearer token, so deployments work where SCM basic auth is disabled and
publishing credentials are never fetched. The token is for the audience the Azure CLI uses for
Kudu (``Cloud.scm_scope``: ``https://appservice.azure.com`` in the public cloud, which cannot
manage Azure resources; the classic management resource in China and US Gov), and it is pinned
to the SCM host only; the ARM token never goes to a Kudu host. The SCM host comes from the
site's own host names (``hostNameSslStates``), never built from the app name. Retries are
not azure-core's here: the caller's tenacity layer owns them (one retry layer per call), so
the pipeline's RetryPolicy is off.
A 401 gets one token renewal and one re-send (``transport.bearer``; an upload's package
reader is rewound for it). Clients are handed out, cached and closed by the hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.transport.bearer import bearer_policy
from airflow_provider_appservice.transport.pipelines import policy_chain
from airflow_provider_appservice.wire.clocked import requests_transport
from airflow_provider_appservice.wire.tls import aiohttp_transport, resolve_verify

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient, PipelineClient

    from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential


def build_scm_client(
    config: IdentityConfig, credential: MaskingCredential, scm_host: str, clock: Clock
) -> PipelineClient:
    """A sync pipeline to ``https://<scm_host>`` carrying the SCM token, pinned to that host."""
    from azure.core import PipelineClient

    bearer = bearer_policy(credential, config.cloud.scm_scope, aio=False)
    return PipelineClient(
        base_url=f"https://{scm_host}",
        policies=policy_chain(bearer, "App Service (SCM)", [scm_host], aio=False),
        transport=requests_transport(clock, connection_verify=resolve_verify(config.ca_bundle)),
    )


def build_async_scm_client(
    config: IdentityConfig, credential: AsyncMaskingCredential, scm_host: str, clock: Clock
) -> AsyncPipelineClient:
    """Async twin of :func:`build_scm_client`, for triggers."""
    from azure.core import AsyncPipelineClient

    bearer = bearer_policy(credential, config.cloud.scm_scope, aio=True)
    return AsyncPipelineClient(
        base_url=f"https://{scm_host}",
        policies=policy_chain(bearer, "App Service (SCM)", [scm_host], aio=True),
        transport=aiohttp_transport(config.ca_bundle, clock),
    )
