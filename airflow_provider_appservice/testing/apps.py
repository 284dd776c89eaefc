"""The sites' own host names. For now the app answers a plain page and Kudu (SCM) is not
modelled yet (404); later slices add Easy Auth, health paths and deployments here.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.responses import host_info

ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def app_router() -> Router:
    async def page(request: Request) -> Response:
        site = host_info(request).target
        assert isinstance(site, Site)
        return PlainTextResponse(f"Emulated app {site.name} is {site.state}.\n")

    return Router(routes=[Route("/{path:path}", page, methods=ALL)])


def scm_router() -> Router:
    async def not_modelled(request: Request) -> Response:
        return PlainTextResponse("Kudu is not modelled by this emulator yet.\n", status_code=404)

    return Router(routes=[Route("/{path:path}", not_modelled, methods=ALL)])
