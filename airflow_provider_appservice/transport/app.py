"""azure-core pipelines for calling an app itself, with an app-audience token or none.

The token (for the app's Easy Auth audience, checked by ``identity.audiences``) is pinned to
the exact host names ARM reports for the site or slot plus the connection's
``allowed_hosts``; https only. Redirects are not followed: a 3xx comes back to the caller
(a redirect to a login page is an answer, never a reason to send the token elsewhere).
Retries are the caller's (tenacity), so azure-core's RetryPolicy is off; a 401 gets one token
renewal and one re-send (``transport.bearer``). Clients are handed out, cached and closed by
the hook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.identity.audiences import app_scope
from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.transport.bearer import bearer_policy
from airflow_provider_appservice.transport.pipelines import policy_chain
from airflow_provider_appservice.wire.clocked import requests_transport
from airflow_provider_appservice.wire.tls import aiohttp_transport, resolve_verify

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient, PipelineClient

    from airflow_provider_appservice.identity.tokens import AsyncMaskingCredential, MaskingCredential


def build_app_client(
    config: IdentityConfig,
    credential: MaskingCredential | None,
    scope: str | None,
    hosts: Iterable[str],
    base_url: str,
    clock: Clock,
) -> PipelineClient:
    """A sync pipeline to the app; with ``scope`` None it is anonymous (e.g. a public health path)."""
    from azure.core import PipelineClient

    if scope:
        app_scope(scope)  # the floor holds here too: no pipeline carries a powerful audience
    bearer = bearer_policy(credential, scope, aio=False) if credential is not None and scope else None
    return PipelineClient(
        base_url=base_url,
        policies=policy_chain(bearer, "app", [*hosts, *config.allowed_hosts], aio=False),
        transport=requests_transport(clock, connection_verify=resolve_verify(config.ca_bundle)),
    )


def build_async_app_client(
    config: IdentityConfig,
    credential: AsyncMaskingCredential | None,
    scope: str | None,
    hosts: Iterable[str],
    base_url: str,
    clock: Clock,
) -> AsyncPipelineClient:
    from azure.core import AsyncPipelineClient

    if scope:
        app_scope(scope)  # scope may come from a trigger's kwargs: untrusted
    bearer = bearer_policy(credential, scope, aio=True) if credential is not None and scope else None
    return AsyncPipelineClient(
        base_url=base_url,
        policies=policy_chain(bearer, "app", [*hosts, *config.allowed_hosts], aio=True),
        transport=aiohttp_transport(config.ca_bundle, clock),
    )


def app_hosts(site_host_names: Iterable[str]) -> list[str]:
    """The site's own host names that serve the app (not its SCM host)."""
    return [h for h in site_host_names if ".scm." not in h]
