"""Easy Auth (App Service authentication, ``authsettingsV2``) in front of an emulated app.

Per site and per slot (not exchanged by a swap), off by default. What is modelled
(azure-apis.md §6):

- the app registration's client id is always an accepted audience, in both spellings Entra
  puts in ``aud`` (bare GUID for v2 tokens, ``api://<client-id>`` for v1; which one a real token
  carries is UNVERIFIED), plus ``allowedAudiences`` (e.g. an Application ID URI);
- the token must be one the emulator issued (an access token), for the site's tenant (``tid``
  and an ``iss`` of that tenant, v1 or v2 form), not expired, not before ``nbf``;
- ``allowedClientApplications`` (``jwtClaimChecks``): a valid token from another client gets 403;
- ``unauthenticatedClientAction`` for anonymous requests: ``RedirectToLoginPage`` (a 302 to the
  tenant's ``/oauth2/v2.0/authorize`` for a browser-style request — ``Accept`` naming
  ``text/html`` —, else 401; ``anonymous_redirect="all"`` redirects every anonymous request
  that is not an ``X-Requested-With: XMLHttpRequest`` call, as App Service is reported to do for
  curl-like clients — UNVERIFIED), ``Return401``, ``Return403``, ``AllowAnonymous``;
- ``excludedPaths``: exact paths (or anything below ``<path>/``) served without authentication.

A bad bearer token gets 401 whatever the action. The ``WWW-Authenticate`` header of the 401
(``Bearer realm="<host>" authorization_uri="https://<login>/<tenant>/oauth2/v2.0/authorize"``)
and the exact query of the login redirect are UNVERIFIED against today's service.

The app registration behind Easy Auth can restrict who may *get* a token for it (Entra's
"assignment required", modelled as ``required_callers``): the token endpoint and managed
identity endpoints then refuse other clients with AADSTS501051.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from airflow_provider_appservice.testing.clouds import Cloud, get_cloud, norm_aud
from airflow_provider_appservice.testing.model import Principal, Site
from airflow_provider_appservice.testing.state import World

ACTIONS = ("RedirectToLoginPage", "Return401", "Return403", "AllowAnonymous")
SKEW = 300  # seconds of clock skew allowed on nbf, as token validators commonly allow


def _norm(audience: str) -> str:
    return norm_aud(audience.strip()).lower()


@dataclass(eq=False)
class EasyAuthConfig:
    site: Site
    registration: Principal
    tenant_id: str
    cloud: Cloud
    audiences: frozenset[str]  # normalised
    unauthenticated_action: str
    excluded_paths: tuple[str, ...]
    allowed_client_applications: frozenset[str] | None
    anonymous_redirect: str

    def as_settings(self) -> dict[str, Any]:
        """The parts of ``authsettingsV2`` this models, in ARM's shape (for docs and debugging)."""
        return {
            "platform": {"enabled": True},
            "globalValidation": {
                "requireAuthentication": self.unauthenticated_action != "AllowAnonymous",
                "unauthenticatedClientAction": self.unauthenticated_action,
                "excludedPaths": list(self.excluded_paths),
            },
            "identityProviders": {
                "azureActiveDirectory": {
                    "enabled": True,
                    "registration": {
                        "clientId": self.registration.client_id,
                        "openIdIssuer": self.cloud.v2_issuer(self.tenant_id),
                    },
                    "validation": {
                        "allowedAudiences": sorted(self.audiences),
                        "jwtClaimChecks": {
                            "allowedClientApplications": sorted(self.allowed_client_applications or []),
                        },
                    },
                }
            },
        }


@dataclass
class ApiRegistration:
    """What Entra knows about an app registration exposing an API (its identifier URIs)."""

    registration: Principal
    identifier_uris: set[str] = field(default_factory=set)  # normalised
    required_callers: frozenset[str] | None = None  # client ids; None = any principal of the tenant


@dataclass
class EasyAuthBook:
    configs: dict[Site, EasyAuthConfig] = field(default_factory=dict)
    apis: dict[str, ApiRegistration] = field(default_factory=dict)  # registration client id -> api


_BOOKS: weakref.WeakKeyDictionary[World, EasyAuthBook] = weakref.WeakKeyDictionary()


def book_of(world: World) -> EasyAuthBook:
    with world.lock:
        book = _BOOKS.get(world)
        if book is None:
            book = _BOOKS[world] = EasyAuthBook()
        return book


def config_of(world: World, site: Site) -> EasyAuthConfig | None:
    with world.lock:
        return book_of(world).configs.get(site)


def _client_ids(items: Iterable[Principal | str] | None) -> frozenset[str] | None:
    if items is None:
        return None
    return frozenset((p.client_id if isinstance(p, Principal) else str(p)).lower() for p in items)


def enable(
    world: World,
    site: Site,
    audiences: Iterable[str] | None = None,
    client_app: Principal | None = None,
    unauthenticated_action: str = "RedirectToLoginPage",
    excluded_paths: Iterable[str] = ("/healthz",),
    allowed_client_applications: Iterable[Principal | str] | None = None,
    required_callers: Iterable[Principal | str] | None = None,
    anonymous_redirect: str = "browsers",
) -> Principal:
    if unauthenticated_action not in ACTIONS:
        raise ValueError(f"unauthenticated_action must be one of {ACTIONS}")
    if anonymous_redirect not in ("browsers", "all"):
        raise ValueError("anonymous_redirect must be 'browsers' or 'all'")
    paths = tuple(excluded_paths)
    if any(not p.startswith("/") for p in paths):
        raise ValueError("excluded paths must start with '/'")
    with world.lock:
        sub = world.subscription(site.subscription_id)
        if sub is None:
            raise ValueError(f"unknown subscription of {site.name}")
        tenant_id = sub.tenant_id
        if client_app is None:
            client_app = world._add_principal(tenant_id, "app_registration", display_name=f"{site.name} (Easy Auth)")
        elif client_app.tenant_id != tenant_id:
            raise ValueError("client_app must be an app registration of the site's tenant")
        extra = {_norm(a) for a in (audiences or [])}
        own = {client_app.client_id, f"api://{client_app.client_id}"}
        book = book_of(world)
        api = book.apis.setdefault(client_app.client_id, ApiRegistration(client_app))
        api.identifier_uris |= {a for a in extra if a not in own}
        if required_callers is not None:
            api.required_callers = _client_ids(required_callers)
        for uri in api.identifier_uris:
            world.identifier_uris[uri] = client_app.client_id
        book.configs[site] = EasyAuthConfig(
            site=site,
            registration=client_app,
            tenant_id=tenant_id,
            cloud=get_cloud(site.cloud),
            audiences=frozenset(own | extra),
            unauthenticated_action=unauthenticated_action,
            excluded_paths=paths,
            allowed_client_applications=_client_ids(allowed_client_applications),
            anonymous_redirect=anonymous_redirect,
        )
    return client_app


def disable(world: World, site: Site) -> None:
    with world.lock:
        book_of(world).configs.pop(site, None)


def token_refusal(world: World, caller: Principal, audience: str) -> str | None:
    """Why Entra would refuse ``caller`` a token for an API registration's ``audience``, or None."""
    aud = _norm(audience)
    app_id = aud[len("api://") :] if aud.startswith("api://") else aud
    with world.lock:
        book = book_of(world)
        api = book.apis.get(app_id) or book.apis.get(world.identifier_uris.get(aud, ""))
        if api is None or api.required_callers is None or caller.client_id in api.required_callers:
            return None
        return (
            f"AADSTS501051: Application '{caller.client_id}' is not assigned to a role for the application "
            f"'{audience}' ({api.registration.client_id})."
        )


# -- the check in front of the app ---------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """Either ``claims`` (None for an anonymous request let through) or an answer to send."""

    claims: dict[str, Any] | None = None
    status: int | None = None
    headers: Mapping[str, str] | None = None
    body: str = ""

    @property
    def allowed(self) -> bool:
        return self.status is None


def _excluded(cfg: EasyAuthConfig, path: str) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in cfg.excluded_paths)


def _authorize_url(cfg: EasyAuthConfig) -> str:
    return f"https://{cfg.cloud.authority_host}/{cfg.tenant_id}/oauth2/v2.0/authorize"


def _unauthorized(cfg: EasyAuthConfig, host: str, message: str, error: str | None = None) -> Verdict:
    challenge = f'Bearer realm="{host}" authorization_uri="{_authorize_url(cfg)}"'
    if error:
        challenge += f' error="{error}"'
    return Verdict(status=401, headers={"WWW-Authenticate": challenge}, body=message)


def _browser_style(cfg: EasyAuthConfig, headers: Mapping[str, str]) -> bool:
    if headers.get("x-requested-with", "").lower() == "xmlhttprequest":
        return False
    accept = headers.get("accept", "").lower()
    if "text/html" in accept:
        return True
    return cfg.anonymous_redirect == "all"


def _login_redirect(cfg: EasyAuthConfig, host: str, path: str) -> Verdict:
    query = urlencode(
        {
            "response_type": "code id_token",
            "redirect_uri": f"https://{host}/.auth/login/aad/callback",
            "client_id": cfg.registration.client_id,
            "scope": "openid profile email",
            "response_mode": "form_post",
            "nonce": uuid.uuid4().hex,
            "state": f"redir={path}",
        }
    )
    return Verdict(status=302, headers={"Location": f"{_authorize_url(cfg)}?{query}"})


def check(
    world: World, cfg: EasyAuthConfig, host: str, path: str, headers: Mapping[str, str], token: str | None
) -> Verdict:
    """Easy Auth's decision for one request (``headers`` with lower-case names)."""
    if token is None:
        if _excluded(cfg, path):
            return Verdict()
        action = cfg.unauthenticated_action
        if action == "AllowAnonymous":
            return Verdict()
        if action == "Return403":
            return Verdict(status=403, body="You do not have permission to view this directory or page.")
        if action == "RedirectToLoginPage" and _browser_style(cfg, headers):
            return _login_redirect(cfg, host, path)
        return _unauthorized(cfg, host, "You do not have permission to view this directory or page.")
    record = world.lookup_token(token)
    if record is None or record.kind != "access":
        return _unauthorized(cfg, host, "The token was not issued by this tenant's identity provider.", "invalid_token")
    claims = dict(record.claims)
    if _norm(record.aud) not in cfg.audiences:
        return _unauthorized(cfg, host, f"The token's audience '{record.aud}' is not allowed.", "invalid_token")
    issuers = {cfg.cloud.v2_issuer(cfg.tenant_id), cfg.cloud.v1_issuer(cfg.tenant_id)}
    if record.tid != cfg.tenant_id or record.iss not in issuers:
        return _unauthorized(cfg, host, "The token was issued by another tenant.", "invalid_token")
    now = world.now()
    if now >= record.exp:
        return _unauthorized(cfg, host, "The token is expired.", "invalid_token")
    if float(claims.get("nbf", 0)) > now + SKEW:
        return _unauthorized(cfg, host, "The token is not valid yet.", "invalid_token")
    allowed = cfg.allowed_client_applications
    if allowed is not None and record.appid.lower() not in allowed:
        return Verdict(status=403, body="The client application is not allowed to call this app.")
    return Verdict(claims=claims)
