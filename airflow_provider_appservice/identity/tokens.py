"""A thin wrapper around a credential's ``get_token``: mask every token, count per audience.

Airflow masks connection passwords but not tokens obtained at run time, so each token
is registered with the secrets masker the moment it exists (``mask_secret`` in sync
code, ``amask_secret`` in async code so the triggerer's event loop is not blocked).
The ledger counts the tokens actually issued (a token not seen before for that
identity and audience), which is what a security reviewer and the budgets care about.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential


def claims_of(token: str) -> dict[str, str]:
    """The identity claims of a JWT-shaped token (oid, appid, tid), read without verifying.

    Used only for audit lines (who did it); a token that is not a JWT gives {}. The token
    itself is never kept or logged.
    """
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    if not isinstance(payload, dict):
        return {}
    return {k: str(payload[k]) for k in ("oid", "appid", "tid") if k in payload}


def audience_of(scope: str) -> str:
    """``https://management.azure.com/.default`` -> ``https://management.azure.com``."""
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


class TokenLedger:
    """Counts distinct tokens per (identity, audience) in this process, and remembers them hashed.

    It also keeps each identity's claims (oid, appid, tid) for audit lines.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], set[str]] = {}
        self._counts: Counter[tuple[str, str]] = Counter()
        self._claims: dict[str, dict[str, str]] = {}

    def record(self, principal: str, scopes: tuple[str, ...], token: str) -> bool:
        """Return True when this token is new for the identity and audience."""
        key = (principal, " ".join(audience_of(s) for s in scopes))
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            seen = self._seen.setdefault(key, set())
            if digest in seen:  # a token already counted (e.g. from another cached client)
                return False
            seen.add(digest)
            self._counts[key] += 1
            claims = claims_of(token)
            if claims:
                self._claims[principal] = claims
            return True

    def claims(self, principal: str) -> dict[str, str]:
        """The last known oid/appid/tid of an identity (empty for opaque tokens)."""
        with self._lock:
            return dict(self._claims.get(principal, {}))

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def by_audience(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (_, audience), count in self.counts().items():
            totals[audience] += count
        return dict(totals)

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
            self._counts.clear()
            self._claims.clear()


LEDGER = TokenLedger()


def _mask(token: str) -> None:
    from airflow.sdk.log import mask_secret

    mask_secret(token)


async def _amask(token: str) -> None:
    from airflow.sdk.log import amask_secret

    await amask_secret(token)


Explain = Callable[[BaseException], BaseException]


def _explained(explain: Explain | None, exc: BaseException) -> BaseException:
    """The provider's error for a failed token request, raised where the token was asked for.

    Raised from inside azure-core's bearer policy, it is not an ``AzureError``: no SDK retry
    re-sends a wrong secret, and every caller up the stack sees the same class.
    """
    from azure.core.exceptions import ClientAuthenticationError

    if explain is None or not isinstance(exc, ClientAuthenticationError) or exc.status_code is not None:
        return exc  # a 401 from a resource (vault, ARM) is that resource's answer, classified there
    return explain(exc)


class MaskingCredential:
    """Sync credential wrapper: every token is masked and counted before anyone sees it.

    ``rebuild`` makes :meth:`renew` possible: a fresh inner credential (an empty token cache)
    for when Azure rejects a token this process still believes valid (clock skew, revocation).
    ``explain`` turns a failed token request into the provider's error (``identity.failures``).
    """

    def __init__(
        self,
        inner: TokenCredential,
        principal: str,
        rebuild: Callable[[], Any] | None = None,
        explain: Explain | None = None,
    ) -> None:
        self._inner = inner
        self.principal = principal
        self._rebuild = rebuild
        self._explain = explain

    def renew(self) -> bool:
        """Drop the cached tokens by rebuilding the inner credential; False if it cannot."""
        if self._rebuild is None:
            return False
        old, self._inner = self._inner, self._rebuild()
        close = getattr(old, "close", None)
        if close:
            close()
        return True

    def _seen(self, scopes: tuple[str, ...], token: str) -> None:
        if LEDGER.record(self.principal, scopes, token):
            _mask(token)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            result = self._inner.get_token(*scopes, **kwargs)
        except Exception as exc:
            if (explained := _explained(self._explain, exc)) is exc:
                raise
            raise explained from None
        self._seen(scopes, result.token)
        return result

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        inner: Any = self._inner
        try:
            if hasattr(inner, "get_token_info"):
                result = inner.get_token_info(*scopes, options=options)
            else:  # credentials that predate the token-info protocol
                from azure.core.credentials import AccessTokenInfo

                token = inner.get_token(*scopes)
                result = AccessTokenInfo(token.token, token.expires_on)
        except Exception as exc:
            if (explained := _explained(self._explain, exc)) is exc:
                raise
            raise explained from None
        self._seen(scopes, result.token)
        return result

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close:
            close()

    def __enter__(self) -> MaskingCredential:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class AsyncMaskingCredential:
    """Async twin of :class:`MaskingCredential`, masking with ``amask_secret``."""

    def __init__(
        self,
        inner: AsyncTokenCredential,
        principal: str,
        rebuild: Callable[[], Any] | None = None,
        explain: Explain | None = None,
    ) -> None:
        self._inner = inner
        self.principal = principal
        self._rebuild = rebuild
        self._explain = explain

    async def arenew(self) -> bool:
        """Async twin of :meth:`MaskingCredential.renew`."""
        if self._rebuild is None:
            return False
        old, self._inner = self._inner, self._rebuild()
        await old.close()
        return True

    async def _seen(self, scopes: tuple[str, ...], token: str) -> None:
        if LEDGER.record(self.principal, scopes, token):
            await _amask(token)

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            result = await self._inner.get_token(*scopes, **kwargs)
        except Exception as exc:
            if (explained := _explained(self._explain, exc)) is exc:
                raise
            raise explained from None
        await self._seen(scopes, result.token)
        return result

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        inner: Any = self._inner
        try:
            if hasattr(inner, "get_token_info"):
                result = await inner.get_token_info(*scopes, options=options)
            else:
                from azure.core.credentials import AccessTokenInfo

                token = await inner.get_token(*scopes)
                result = AccessTokenInfo(token.token, token.expires_on)
        except Exception as exc:
            if (explained := _explained(self._explain, exc)) is exc:
                raise
            raise explained from None
        await self._seen(scopes, result.token)
        return result

    async def close(self) -> None:
        await self._inner.close()

    async def __aenter__(self) -> AsyncMaskingCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()
