"""Azure Resource Manager on each cloud's management host: the checks every ARM call goes
through, in ARM's order (token, api-version, route, subscription, tenant, RBAC, resource group,
resource), and a small route table that area modules (``arm_sites``, later restart, swap,
settings, deployments) register into.

Error codes follow documented ARM behaviour (``AuthenticationFailed`` for a missing header,
``InvalidAuthenticationToken``, ``ExpiredAuthenticationToken``,
``InvalidAuthenticationTokenAudience``, ``InvalidAuthenticationTokenTenant``,
``AuthorizationFailed``, ``SubscriptionNotFound``, ``ResourceGroupNotFound``); message texts are
close to real ones but UNVERIFIED word for word. ``MissingSubscriptionRegistration`` is never
sent: azure-mgmt-core would try to register the provider.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing.clouds import Cloud
from airflow_provider_appservice.testing.model import Site, Subscription, TokenRecord
from airflow_provider_appservice.testing.responses import arm_error, bearer_token, host_info, json_response, web_error
from airflow_provider_appservice.testing.state import World

SITES_IN_SUBSCRIPTION = "/subscriptions/{sub}/providers/Microsoft.Web/sites"
SITES_IN_GROUP = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites"
SITE = SITES_IN_GROUP + "/{site}"
SLOTS = SITE + "/slots"
SLOT = SLOTS + "/{slot}"


@dataclass
class ArmContext:
    """Everything a route handler needs once the common checks passed."""

    request: Request
    world: World
    cloud: Cloud
    params: dict[str, str]
    caller: TokenRecord
    subscription: Subscription
    headers: dict[str, str]
    site: Site | None = None

    def json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return json_response(body, status, {**self.headers, **(headers or {})})

    def empty(self, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """An empty-bodied answer (restart/start/stop answer 200 with nothing, azure-apis.md §9)."""
        return Response(b"", status, {**self.headers, **(headers or {})})


Handler = Callable[[ArmContext], Awaitable[Response]]


@dataclass(frozen=True)
class ArmRoute:
    method: str
    template: str
    action: Callable[[dict[str, str]], str]
    handler: Handler
    authorize: bool = True  # False: the handler filters what the caller may see (ARM list calls)
    # True: the named resource may not exist yet (a slot: ctx.site is then its production site;
    # a site: ctx.site is None; a resource group: no ResourceGroupNotFound).
    creates: bool = False
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}/?$", re.IGNORECASE))


def site_action(verb: str) -> Callable[[dict[str, str]], str]:
    """``Microsoft.Web/sites/<verb>``, or ``.../sites/slots/<verb>`` when the route names a slot."""
    return lambda p: f"Microsoft.Web/sites/{'slots/' if p.get('slot') else ''}{verb}"


class ArmRoutes:
    """The route table; area modules call :meth:`add` (see ``arm_sites.register``)."""

    def __init__(self) -> None:
        self.routes: list[ArmRoute] = []
        # Called with every request that names an existing site or slot, before its handler
        # (e.g. a running swap progresses when a client looks at the app).
        self.observers: list[Callable[[ArmContext], None]] = []

    def observe(self, observer: Callable[[ArmContext], None]) -> None:
        self.observers.append(observer)

    def add(
        self,
        method: str,
        template: str,
        action: Callable[[dict[str, str]], str],
        handler: Handler,
        authorize: bool = True,
        creates: bool = False,
    ) -> None:
        self.routes.append(ArmRoute(method.upper(), template, action, handler, authorize, creates))

    def match(self, method: str, path: str) -> tuple[ArmRoute | None, dict[str, str], bool]:
        """(route, params, path_known): path_known tells 405 from 404."""
        path_known = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            path_known = True
            if route.method == method:
                return route, m.groupdict(), True
        return None, {}, path_known


def resource_id(params: dict[str, str]) -> str:
    """The scope RBAC checks, built from the path (ARM authorizes before it looks anything up)."""
    rid = f"/subscriptions/{params['sub']}"
    if "rg" in params:
        rid += f"/resourceGroups/{params['rg']}"
    if "site" in params:
        rid += f"/providers/Microsoft.Web/sites/{params['site']}"
    if "plan" in params:
        rid += f"/providers/Microsoft.Web/serverfarms/{params['plan']}"
    if params.get("slot"):
        rid += f"/slots/{params['slot']}"
    return rid


def _challenge(cloud: Cloud, tenant_id: str | None, description: str) -> dict[str, str]:
    authority = "https://login.windows.net" if cloud.name == "public" else f"https://{cloud.authority_host}"
    uri = f"{authority}/{tenant_id}" if tenant_id else f"{authority}/"
    return {
        "www-authenticate": f'Bearer authorization_uri="{uri}", error="invalid_token", error_description="{description}"'
    }


class ArmApp:
    def __init__(self, world: World, routes: ArmRoutes) -> None:
        self.world = world
        self.routes = routes
        self._reads: dict[str, int] = {}

    def _headers(self, subscription_id: str | None, method: str) -> dict[str, str]:
        corr = str(uuid.uuid4())
        headers = {
            "x-ms-correlation-request-id": corr,
            "x-ms-routing-request-id": f"WESTEUROPE:20260101T000000Z:{corr}",
            "cache-control": "no-cache",
        }
        if subscription_id:
            kind = "reads" if method in ("GET", "HEAD") else "writes"
            key = f"{subscription_id}:{kind}"
            with self.world.lock:
                left = self._reads[key] = max(0, self._reads.get(key, 12000 if kind == "reads" else 1200) - 1)
            headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(left)
        return headers

    async def __call__(self, request: Request) -> Response:
        cloud = host_info(request).cloud
        assert cloud is not None
        world = self.world
        method, path = request.method, request.url.path
        headers = self._headers(None, method)

        token = bearer_token(request)
        if token is None:
            msg = "Authentication failed. The 'Authorization' header is missing."
            return arm_error(401, "AuthenticationFailed", msg, {**headers, **_challenge(cloud, None, msg)})
        caller = world.lookup_token(token)
        if caller is None or caller.kind != "access":
            msg = "The access token is invalid."
            return arm_error(401, "InvalidAuthenticationToken", msg, {**headers, **_challenge(cloud, None, msg)})
        if world.is_expired(caller):
            msg = "The access token expiry UTC time is earlier than current UTC time."
            return arm_error(401, "ExpiredAuthenticationToken", msg, {**headers, **_challenge(cloud, None, msg)})
        if caller.aud.rstrip("/") not in cloud.arm_audiences:
            allowed = ",".join(f"'{a}/','{a}'" for a in sorted(cloud.arm_audiences))
            msg = (
                f"The access token has been obtained for wrong audience or resource '{caller.aud}'. "
                f"It should exactly match with one of the allowed audiences {allowed}."
            )
            return arm_error(
                401, "InvalidAuthenticationTokenAudience", msg, {**headers, **_challenge(cloud, None, msg)}
            )
        if not request.query_params.get("api-version"):
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
                headers,
            )
        route, params, path_known = self.routes.match(method, path)
        if route is None:
            if path_known:
                return arm_error(405, "MethodNotAllowed", f"The method {method} is not allowed on '{path}'.", headers)
            return arm_error(
                404, "InvalidResourceType", f"The emulator does not serve '{path}' (not modelled yet).", headers
            )
        if "sub" not in params:  # tenant-level reads (GET /subscriptions, /tenants): no subscription yet
            return await route.handler(
                ArmContext(request, world, cloud, params, caller, Subscription("", caller.tid), headers)
            )
        sub = world.subscription(params["sub"])
        if sub is None or world.cloud_of_tenant(sub.tenant_id).name != cloud.name:
            return arm_error(
                404, "SubscriptionNotFound", f"The subscription '{params['sub']}' could not be found.", headers
            )
        headers = self._headers(sub.subscription_id, method)
        if caller.tid != sub.tenant_id:
            msg = (
                f"The access token is from the wrong issuer '{caller.iss}'. It must match the tenant "
                f"'{cloud.v1_issuer(sub.tenant_id)}' associated with this subscription. Please use the "
                f"authority (URL) '{cloud.authority_url(sub.tenant_id)}' to get the token."
            )
            return arm_error(
                401,
                "InvalidAuthenticationTokenTenant",
                msg,
                {**headers, **_challenge(cloud, sub.tenant_id, msg)},
            )
        scope = resource_id(params)
        action = route.action(params)
        if route.authorize and not world.is_authorized(caller.oid, action, scope):
            return arm_error(
                403,
                "AuthorizationFailed",
                f"The client '{caller.appid}' with object id '{caller.oid}' does not have authorization to "
                f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                "recently granted, please refresh your credentials.",
                headers,
            )
        ctx = ArmContext(request, world, cloud, params, caller, sub, headers)
        creating_group = route.creates and "site" not in params and "plan" not in params
        if "rg" in params and params["rg"].lower() not in sub.resource_groups and not creating_group:
            return arm_error(
                404, "ResourceGroupNotFound", f"Resource group '{params['rg']}' could not be found.", headers
            )
        if "site" in params:
            site = world.find_site(resource_id({k: v for k, v in params.items() if k != "slot"}))
            if site is not None and params.get("slot"):
                parent, site = site, site.slots.get(params["slot"].lower())
                if site is None and route.creates:
                    site = parent
            if site is None and route.creates and not params.get("slot"):
                return await route.handler(ctx)  # PUT of a new site: ctx.site stays None
            if site is None:
                name = params["site"] + (f"/slots/{params['slot']}" if params.get("slot") else "")
                return web_error(
                    404,
                    "NotFound",
                    f"The Resource 'Microsoft.Web/sites/{name}' under resource group '{params['rg']}' was not found.",
                    headers,
                )
            ctx.site = site
            for observer in self.routes.observers:
                observer(ctx)
        return await route.handler(ctx)


def router(world: World, routes: ArmRoutes) -> Router:
    app = ArmApp(world, routes)

    async def endpoint(request: Request) -> Response:  # Starlette treats callables objects as ASGI apps
        return await app(request)

    methods = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"]
    return Router(routes=[Route("/{path:path}", endpoint, methods=methods)])
