"""Per-audience token pinning: a token is sent only to the exact hosts it is for.

The check is a plain function; :class:`TokenPinningPolicy` applies it inside an
azure-core pipeline in the slot right after the bearer-token policy, so every retry,
redirect and LRO poll (absolute URLs included) passes it with the header already set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import CustomHookPolicy

from airflow_provider_appservice.errors import TokenPinningError


def normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def refusal_reason(url: str, allowed_hosts: frozenset[str], host_header: str | None = None) -> str | None:
    """Why a bearer token must not go to ``url``, or None when it may.

    ``host_header`` is a ``Host`` header set on the request: what the server routes by, so it
    must name the same host as the URL (the effective host is what is pinned, not the URL alone).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the URL cannot be parsed"
    if parts.scheme != "https":
        return f"the URL is {parts.scheme or 'not'}://, not https"
    if parts.username is not None or parts.password is not None:
        return "the URL carries user information"
    if port not in (None, 443):
        return f"the URL names port {port}"
    host = normalise_host(parts.hostname or "")
    if host not in allowed_hosts:
        return f"host '{host}' is not one this token is for"
    if host_header is not None:
        named = normalise_host(urlsplit(f"//{host_header}").hostname or host_header)
        if named != host:
            return f"the Host header names '{named}', not the URL's host '{host}'"
    return None


class TokenPinningPolicy(CustomHookPolicy):
    """Refuse to send a request whose Authorization header would reach a foreign host.

    Placed as the pipeline's ``custom_hook_policy`` (the slot after authentication in
    the generated SDK clients); it keeps CustomHookPolicy's raw-request hooks working.
    """

    def __init__(self, audience_label: str, allowed_hosts: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.audience_label = audience_label
        self.allowed_hosts = frozenset(normalise_host(h) for h in allowed_hosts)

    def on_request(self, request: PipelineRequest) -> None:
        http_request = request.http_request
        if "Authorization" in http_request.headers or "authorization" in http_request.headers:
            host_header = next((v for k, v in http_request.headers.items() if k.lower() == "host"), None)
            reason = refusal_reason(http_request.url, self.allowed_hosts, host_header)
            if reason:
                parts = urlsplit(http_request.url)
                raise TokenPinningError(
                    f"Refused to send a {self.audience_label} token to {parts.scheme}://{parts.netloc}{parts.path}: "
                    f"{reason} (allowed: {', '.join(sorted(self.allowed_hosts)) or 'none'}). "
                    "The request was not sent."
                )
        super().on_request(request)
