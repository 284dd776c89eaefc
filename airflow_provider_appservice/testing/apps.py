"""The sites' own host names. For now the app answers a plain page and Kudu (SCM) is not
modelled yet (404); later slices add Easy Auth, health paths and deployments here.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing import site_ops
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.responses import host_info
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


def app_router(world: World | None = None) -> Router:
    """The app's own host: 403 when stopped, 503 "Application Error" while its container
    crash-loops (admin state still Running), else a page naming the build and image it serves."""

    async def page(request: Request) -> Response:
        site = host_info(request).target
        assert isinstance(site, Site)
        status = site_ops.runtime_status(world, site) if world is not None else "Ready"
        if status == "Stopped":
            return HTMLResponse(STOPPED_PAGE, status_code=403)
        if status == "CrashLooping":
            return HTMLResponse(APPLICATION_ERROR_PAGE, status_code=503)
        image = site_ops.image_of(site)
        return PlainTextResponse(
            f"Emulated app {site.name} is {site.state}.\nbuild: {site.build}\n" + (f"image: {image}\n" if image else "")
        )

    return Router(routes=[Route("/{path:path}", page, methods=ALL)])


def scm_router() -> Router:
    async def not_modelled(request: Request) -> Response:
        return PlainTextResponse("Kudu is not modelled by this emulator yet.\n", status_code=404)

    return Router(routes=[Route("/{path:path}", not_modelled, methods=ALL)])
