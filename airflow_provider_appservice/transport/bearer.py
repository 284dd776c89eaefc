"""The one bearer-token policy of every pipeline (ARM, SCM, app): one token renewal on a 401.

azure-core's bearer policy drops its cached token on a 401 but asks the *same* credential
again, which answers from its own cache: a token Azure rejects while this process still
believes it valid (clock skew, revocation, a token the service considers expired) would be
sent again and again. Here a 401 renews the credential once (``renew``/``arenew`` of
``identity.tokens``: a fresh inner credential, so an empty token cache), the request is
authorized again and re-sent once; a second 401 is returned to the caller, who fails with it.

A 401 means the service refused the request before acting on it, so re-sending is safe for any
method. What can stop it is the body: a stream already consumed cannot go again. A body in
memory can; a body with ``rewind()`` (the package reader of a Kudu upload) is rewound first;
any other stream is not re-sent, and the 401 stands. CAE claims challenges keep azure-core's
own handling (``on_challenge``); a request re-sent for one is not renewed on top.

The sync and async classes are twins because azure-core's policies are; the decision of
whether a request may go again is the plain function :func:`resend_ready`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

_CHALLENGE_ANSWERED = "appservice_challenge_answered"


def resend_ready(http_request: Any) -> bool:
    """Make a refused request's body ready to be sent again; False when it cannot be."""
    body = http_request.content if hasattr(http_request, "content") else getattr(http_request, "data", None)
    if body is None or isinstance(body, (bytes, bytearray, str)):
        return True
    if isinstance(body, Mapping):  # form fields (fine) or multipart files (streams)
        return not any(hasattr(v, "read") or isinstance(v, tuple) for v in body.values())
    rewind = getattr(body, "rewind", None)
    if callable(rewind):
        rewind()
        return True
    return False


def _may_renew(request: Any, response: Any) -> bool:
    return (
        response.http_response.status_code == 401
        and not request.context.get(_CHALLENGE_ANSWERED)
        and resend_ready(request.http_request)
    )


@functools.cache
def renewing_bearer_policies() -> tuple[type, type]:
    """The (sync, async) bearer policy classes that renew the token once on a 401."""
    from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy, BearerTokenCredentialPolicy

    class RenewingBearerPolicy(BearerTokenCredentialPolicy):
        def on_challenge(self, request: Any, response: Any) -> bool:
            answered = request.context[_CHALLENGE_ANSWERED] = super().on_challenge(request, response)
            return answered

        def send(self, request: Any) -> Any:
            response = super().send(request)
            if _may_renew(request, response) and getattr(self._credential, "renew", lambda: False)():
                self.authorize_request(request, *self._scopes)
                response = self.next.send(request)
            return response

    class AsyncRenewingBearerPolicy(AsyncBearerTokenCredentialPolicy):
        async def on_challenge(self, request: Any, response: Any) -> bool:
            answered = request.context[_CHALLENGE_ANSWERED] = await super().on_challenge(request, response)
            return answered

        async def send(self, request: Any) -> Any:
            response = await super().send(request)
            renew = getattr(self._credential, "arenew", None)
            if renew is not None and _may_renew(request, response) and await renew():
                await self.authorize_request(request, *self._scopes)
                response = await self.next.send(request)
            return response

    return RenewingBearerPolicy, AsyncRenewingBearerPolicy


def bearer_policy(credential: Any, scope: str, *, aio: bool) -> Any:
    """A renewing bearer policy for ``scope`` on ``credential`` (a Masking credential)."""
    sync_cls, async_cls = renewing_bearer_policies()
    return (async_cls if aio else sync_cls)(credential, scope)
