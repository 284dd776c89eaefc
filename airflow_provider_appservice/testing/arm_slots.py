"""``PUT P/slots/{slot}`` (``begin_create_or_update_slot``): create a deployment slot, or update
one's site config. Plans without slots (Free, Shared, Basic, Consumption, Flex) answer 400
``BadRequest`` (text UNVERIFIED). A new slot starts with empty settings and the ``siteConfig``
of the request (``appSettings`` there become its app settings); cloning another slot's config
(``cloningInfo``) is not modelled. Answers 200 with the slot's site object, so the SDK's poller
finishes at once.
"""

from __future__ import annotations

from starlette.responses import Response

from airflow_provider_appservice.testing import site_ops
from airflow_provider_appservice.testing.arm import SLOT, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.arm_lifecycle import json_body, op_error
from airflow_provider_appservice.testing.arm_sites import site_json


async def put_slot(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    prod = site_ops.production_of(ctx.site)
    try:
        site_ops.check_slots_supported(prod)
        body = await json_body(ctx)
    except site_ops.OpError as err:
        return op_error(ctx, err)
    props = body.get("properties") if isinstance(body, dict) else None
    config = props.get("siteConfig") if isinstance(props, dict) else None
    with ctx.world.lock:
        slot = prod.slots.get(ctx.params["slot"].lower())
        if slot is None:
            slot = ctx.world.add_slot(prod, ctx.params["slot"])
        if isinstance(config, dict):
            settings = config.get("appSettings")
            if isinstance(settings, list):
                slot.app_settings = {
                    str(s["name"]): str(s.get("value") or "") for s in settings if isinstance(s, dict) and "name" in s
                }
            update = {k: v for k, v in config.items() if k not in ("appSettings", "connectionStrings")}
            slot.site_config = {**slot.site_config, **update}
        answer = site_json(slot)
    return ctx.json(answer)


def register(routes: ArmRoutes) -> None:
    routes.add("PUT", SLOT, site_action("write"), put_slot, creates=True)
