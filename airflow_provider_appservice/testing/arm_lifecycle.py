"""``POST P[/slots/{s}]/restart|start|stop``: 200 with an empty body (no content-type, no
Location), as recorded (azure-apis.md §9). ``start``/``stop`` set the admin ``state``; ``restart``
is counted per site/slot (``emu.restarts``) with its ``softRestart``/``synchronous`` flags and
leaves the admin state as it is. Whether a real restart starts a stopped app is UNVERIFIED.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from airflow_provider_appservice.testing import site_ops
from airflow_provider_appservice.testing.arm import SITE, SLOT, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.responses import web_error


def query_bool(ctx: ArmContext, name: str) -> bool | None:
    """A boolean query parameter (``None`` when absent; anything but true/false is False)."""
    raw = ctx.request.query_params.get(name)
    return None if raw is None else raw.strip().lower() == "true"


async def json_body(ctx: ArmContext) -> Any:
    """The request's JSON body (``None`` when empty); raises ``site_ops.OpError`` if malformed."""
    raw = await ctx.request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise site_ops.OpError(400, "BadRequest", "The request body is not valid JSON.") from None


def op_error(ctx: ArmContext, err: site_ops.OpError) -> Response:
    return web_error(err.status, err.code, err.message, ctx.headers)


async def restart(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    site_ops.restart(ctx.world, ctx.site, query_bool(ctx, "softRestart"), query_bool(ctx, "synchronous"))
    return ctx.empty()


async def start(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    site_ops.set_state(ctx.world, ctx.site, "Running")
    return ctx.empty()


async def stop(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    site_ops.set_state(ctx.world, ctx.site, "Stopped")
    return ctx.empty()


def register(routes: ArmRoutes) -> None:
    for base in (SITE, SLOT):
        routes.add("POST", f"{base}/restart", site_action("restart/action"), restart)
        routes.add("POST", f"{base}/start", site_action("start/action"), start)
        routes.add("POST", f"{base}/stop", site_action("stop/action"), stop)
