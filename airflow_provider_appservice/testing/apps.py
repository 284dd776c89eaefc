"""The sites' own host names (and their custom domains): what each site or slot serves.

In order, like App Service's front end and the app behind it:

1. a stopped site answers 403 (the "web app is stopped" page) and a crash-looping container
   503 ("Application Error") on every path, whatever else is configured;
2. Easy Auth, when enabled for that site or slot (``testing/easyauth.py``), checks the bearer
   token or decides what an anonymous request gets (401, 403, a 302 to the login page);
3. a custom route registered with ``emu.add_app_route`` for the method and exact path;
4. a scripted health path (``emu.set_health``; ``GET /healthz`` is healthy by default), JSON
   ``{"status": ..., "build": ...}``;
5. else a plain page naming the build and image the site or slot serves now.

The build follows deployments (settled by the emulator clock) and swaps. Kudu (SCM) lives in
``kudu.py``.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing import app_behaviour, easyauth, site_ops
from airflow_provider_appservice.testing.deployments import book_of as deployments_of
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.responses import bearer_token, host_info
from airflow_provider_appservice.testing.state import World

ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# What App Service's front end shows (texts as commonly seen; exact markup UNVERIFIED).
STOPPED_PAGE = (
    "<html><head><title>Web App - Unavailable</title></head>"
    "<body><h1>Error 403 - This web app is stopped.</h1></body></html>"
)
APPLICATION_ERROR_PAGE = (
    "<html><head><title>Application Error</title></head><body><h1>:( Application Error</h1></body></html>"
)


def current_build(world: World, site: Site) -> str:
    """The build ``site`` serves now: deployments the clock finished and swaps that completed."""
    deployments_of(world).of_site(site)
    with world.lock:
        site_ops.settle(world, site)
        return site.build


def _page(world: World | None, site: Site) -> Response:
    build = current_build(world, site) if world is not None else site.build
    image = site_ops.image_of(site)
    return PlainTextResponse(
        f"Emulated app {site.name} is {site.state}.\nbuild: {build}\n" + (f"image: {image}\n" if image else "")
    )


def _respond(status: int, headers: dict[str, str] | None, body: object) -> Response:
    raw, media_type = app_behaviour.encode_body(body)
    headers = dict(headers or {})
    if not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = media_type
    return Response(raw, status_code=status, headers=headers)


def app_router(world: World | None = None) -> Router:
    """The app's own host: 403 when stopped, 503 "Application Error" while its container
    crash-loops (admin state still Running), Easy Auth, custom routes, health paths, else a
    page naming the build and image it serves."""

    async def serve(request: Request) -> Response:
        site = host_info(request).target
        assert isinstance(site, Site)
        status = site_ops.runtime_status(world, site) if world is not None else "Ready"
        if status == "Stopped":
            return HTMLResponse(STOPPED_PAGE, status_code=403)
        if status == "CrashLooping":
            return HTMLResponse(APPLICATION_ERROR_PAGE, status_code=503)
        if world is None:
            return _page(world, site)
        path = request.url.path
        method = request.method.upper()
        host = (request.headers.get("host") or "").split(":", 1)[0].lower()
        headers = {k.lower(): v for k, v in request.headers.items()}
        claims = None
        cfg = easyauth.config_of(world, site)
        if cfg is not None:
            verdict = easyauth.check(world, cfg, host, path, headers, bearer_token(request))
            if not verdict.allowed:
                return _respond(verdict.status or 401, dict(verdict.headers or {}), verdict.body)
            claims = verdict.claims
        route = app_behaviour.route_for(world, site, method, path)
        if route is not None:
            body = await request.body()
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            headers.pop("authorization", None)
            info = app_behaviour.RequestInfo(
                method=method,
                path=path,
                query=dict(parse_qsl(request.url.query, keep_blank_values=True)),
                headers=headers,
                body=body,
                json=parsed,
                caller=claims,
                host=host,
                site=site,
                build=current_build(world, site),
            )
            try:
                status_code, out_headers, out_body = route.handler(info)
            except Exception as exc:  # a test's handler failing must show, not hang the client
                return PlainTextResponse(f"The emulated app's handler raised {type(exc).__name__}.", 500)
            return _respond(int(status_code), dict(out_headers or {}), out_body)
        if method in ("GET", "HEAD"):
            script = app_behaviour.health_for(world, site, path)
            if script is not None:
                build = current_build(world, site)
                with world.lock:
                    status_code, body_value, delay = script.next_answer(build)
                if delay:
                    await asyncio.sleep(delay)
                return _respond(status_code, None, body_value)
        return _page(world, site)

    return Router(routes=[Route("/{path:path}", serve, methods=ALL)])


def scm_router() -> Router:
    async def not_modelled(request: Request) -> Response:
        return PlainTextResponse("Kudu is not modelled by this emulator yet.\n", status_code=404)

    return Router(routes=[Route("/{path:path}", not_modelled, methods=ALL)])
