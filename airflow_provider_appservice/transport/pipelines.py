"""The policy chain of the provider's own azure-core pipelines (Kudu and app calls).

One chain for both: request id, user agent, proxy, no redirects (a 3xx comes back to the
caller instead of carrying a token elsewhere), no azure-core retries (tenacity owns them:
one retry layer per call), the bearer policy, then token pinning right after it, then logging
(which redacts Authorization).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

USER_AGENT = "airflow-provider-appservice"


def policy_chain(bearer: Any, audience_label: str, hosts: Iterable[str], *, aio: bool) -> list[Any]:
    from azure.core.pipeline import policies

    from airflow_provider_appservice.wire.pinning import TokenPinningPolicy

    # The redirect and retry policies drive the next policy's send(): an async pipeline needs
    # their async twins (the sync ones would get a coroutine back instead of a response).
    redirect = policies.AsyncRedirectPolicy if aio else policies.RedirectPolicy
    retry = policies.AsyncRetryPolicy if aio else policies.RetryPolicy
    chain: list[Any] = [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker=USER_AGENT),
        policies.ProxyPolicy(),
        policies.ContentDecodePolicy(),
        redirect(permit_redirects=False),
        retry(retry_total=0),
    ]
    if bearer is not None:
        chain += [bearer, TokenPinningPolicy(audience_label, hosts)]
    chain += [policies.NetworkTraceLoggingPolicy(), policies.HttpLoggingPolicy()]
    return chain
