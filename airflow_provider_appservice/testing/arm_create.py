"""Creating and removing apps through ARM, so a user can seed the emulator with ``az`` as they
would set up Azure (``az webapp create``, ``az webapp update``, ``az webapp delete``).

- ``PUT P`` creates a site on the plan its ``serverFarmId`` names (404 when that plan is not
  known) or updates an existing one's ``siteConfig``; either way 200 with the full site and its
  ``ETag`` (real Azure may answer 202 for a create, UNVERIFIED; the SDK's poller accepts both).
- ``PATCH P[/slots/{s}]`` merges ``siteConfig``, ``httpsOnly``-style properties are accepted
  and ignored (not modelled); 200 with the full site.
- ``DELETE P[/slots/{s}]``: 200 with an empty body; a site goes with its slots and host names.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from airflow_provider_appservice.testing.arm import SITE, SLOT, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.arm_account import find_plan
from airflow_provider_appservice.testing.arm_lifecycle import json_body, op_error
from airflow_provider_appservice.testing.arm_sites import etag_header, site_json
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.responses import web_error
from airflow_provider_appservice.testing.site_ops import OpError


def _apply_config(site: Site, props: Any) -> None:
    """``properties.siteConfig`` of a PUT/PATCH: app settings become the site's, the rest is config."""
    config = props.get("siteConfig") if isinstance(props, dict) else None
    if not isinstance(config, dict):
        return
    settings = config.get("appSettings")
    if isinstance(settings, list):
        site.app_settings = {
            str(s["name"]): str(s.get("value") or "") for s in settings if isinstance(s, dict) and "name" in s
        }
    update = {k: v for k, v in config.items() if k not in ("appSettings", "connectionStrings") and v is not None}
    site.site_config = {**site.site_config, **update}


async def put_site(ctx: ArmContext) -> Response:
    try:
        body = await json_body(ctx)
    except OpError as err:
        return op_error(ctx, err)
    if not isinstance(body, dict):
        return web_error(400, "BadRequest", "The request body must be a Site object.", ctx.headers)
    props: dict[str, Any] = body["properties"] if isinstance(body.get("properties"), dict) else {}
    if ctx.site is None:
        plan = find_plan(ctx.world, str(props.get("serverFarmId") or ""))
        if plan is None:
            msg = f"Server farm '{props.get('serverFarmId')}' was not found."
            return web_error(404, "NotFound", msg, ctx.headers)
        kind = str(body.get("kind") or ("app,linux" if plan.kind == "linux" else "app"))
        site = ctx.world.add_site(
            ctx.subscription.subscription_id,
            ctx.params["rg"],
            ctx.params["site"],
            kind=kind,
            plan_sku=plan.sku,
            location=str(body.get("location") or plan.location),
        )
        site.plan_name = plan.name
    else:
        site = ctx.site
    with ctx.world.lock:
        _apply_config(site, props)
        answer = site_json(site)
        etag = etag_header(ctx.world, site)
    return ctx.json(answer, headers=etag)


async def patch_site(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    try:
        body = await json_body(ctx)
    except OpError as err:
        return op_error(ctx, err)
    with ctx.world.lock:
        _apply_config(ctx.site, body.get("properties") if isinstance(body, dict) else None)
        answer = site_json(ctx.site)
        etag = etag_header(ctx.world, ctx.site)
    return ctx.json(answer, headers=etag)


async def delete_site(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    ctx.world.remove_site(ctx.site)
    return ctx.empty()


def register(routes: ArmRoutes) -> None:
    routes.add("PUT", SITE, site_action("write"), put_site, creates=True)
    for base in (SITE, SLOT):
        routes.add("PATCH", base, site_action("write"), patch_site)
        routes.add("DELETE", base, site_action("delete"), delete_site)
