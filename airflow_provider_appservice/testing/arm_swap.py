"""Slot swap in the recorded real shape (azure-apis.md §9), and swap with preview.

- ``POST P/slotsswap`` (production with ``targetSlot``) and ``POST P/slots/{src}/slotsswap``
  (``targetSlot`` = another slot or ``production``) answer **202, empty body,
  ``Location: https://<arm>/…/sites/{app}[/slots/{src}]/operationresults/{guid}?api-version=…``**,
  no ``Azure-AsyncOperation``. Polling the Location answers 202 (empty) while the swap runs,
  then 200 with the full source-slot site object (and again on later polls).
- Pacing as real App Service sends it: the 202 and every in-progress poll carry ``Retry-After``
  in whole seconds (``emu.lro_retry_after``, default 15: the spacing of real polls; the exact
  value is UNVERIFIED) and repeat the ``Location``; no ``retry-after-ms``. The 202 and the final
  200 carry the source site's ``ETag``. Tests pay nothing for the 15 s through an
  ``EmulatorClock`` (azure-core sleeps on the transport, ``wire.clocked``). A client that cannot
  may set the fast knob ``emu.lro_retry_after_ms`` (and ``lro_retry_after = None``).
- While a swap runs, both slots' ``slotSwapStatus`` shows it and the source's
  ``targetSwapSlot`` names the destination; a second swap, applySlotConfig or resetSlotConfig on
  the same app answers 409 ``{"Code": "Conflict", …}`` (message UNVERIFIED).
- ``POST P[/slots/{src}]/applySlotConfig`` (preview, phase 1) and ``…/resetSlotConfig``
  (cancel, on the source or the target: ``site_ops.reset_slot_config``; ``slots/production``
  is the site) answer 200 empty with the ``ETag``. A swap of the same pair while a preview is pending completes it.
- Plans without slots (Free, Shared, Basic, Consumption) answer 400 ``BadRequest`` to every
  swap operation (text UNVERIFIED).
"""

from __future__ import annotations

from starlette.responses import Response

from airflow_provider_appservice.testing import site_ops
from airflow_provider_appservice.testing.arm import SITE, SLOT, SLOTS, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.arm_lifecycle import json_body, op_error
from airflow_provider_appservice.testing.arm_sites import etag_header, site_json
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.responses import web_error


def _delay_headers(ctx: ArmContext, location: str) -> dict[str, str]:
    ops = site_ops.ops_of(ctx.world)
    headers: dict[str, str] = {"location": location}
    if ops.lro_retry_after is not None:
        headers["retry-after"] = str(int(ops.lro_retry_after))
    if ops.lro_retry_after_ms is not None:
        headers["retry-after-ms"] = str(int(ops.lro_retry_after_ms))
    return headers


async def _target(ctx: ArmContext) -> Site:
    assert ctx.site is not None
    site_ops.check_slots_supported(ctx.site)
    body = await json_body(ctx)
    if not isinstance(body, dict):
        raise site_ops.OpError(400, "BadRequest", "The request body must be a CsmSlotEntity object.")
    return site_ops.resolve_target(ctx.site, body.get("targetSlot"))


async def swap(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    try:
        target = await _target(ctx)
        op = site_ops.start_swap(ctx.world, ctx.site, target)
    except site_ops.OpError as err:
        return op_error(ctx, err)
    return ctx.empty(202, {**_delay_headers(ctx, _location(ctx, op)), **etag_header(ctx.world, op.source)})


def _location(ctx: ArmContext, op: site_ops.SwapOperation) -> str:
    api_version = ctx.request.query_params.get("api-version", "")
    return f"https://{ctx.cloud.management_host}{op.source.id}/operationresults/{op.op_id}?api-version={api_version}"


async def operation_result(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    op = site_ops.operation(ctx.world, ctx.site, ctx.params["op"])
    if op is None:
        return web_error(
            404, "NotFound", f"Operation '{ctx.params['op']}' was not found for site '{ctx.site.name}'.", ctx.headers
        )
    if not op.done:
        return ctx.empty(202, _delay_headers(ctx, _location(ctx, op)))
    with ctx.world.lock:
        body = site_json(op.source)
    return ctx.json(body, headers=etag_header(ctx.world, op.source))


async def apply_slot_config(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    try:
        target = await _target(ctx)
        site_ops.apply_slot_config(ctx.world, ctx.site, target)
    except site_ops.OpError as err:
        return op_error(ctx, err)
    return ctx.empty(200, etag_header(ctx.world, ctx.site))


async def reset_slot_config(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    try:
        site_ops.check_slots_supported(ctx.site)
        site_ops.reset_slot_config(ctx.world, ctx.site)
    except site_ops.OpError as err:
        return op_error(ctx, err)
    return ctx.empty(200, etag_header(ctx.world, ctx.site))


def _observe(ctx: ArmContext) -> None:
    """Every GET naming the app is one observation of its running swap (polls included)."""
    if ctx.site is not None:
        site_ops.settle(ctx.world, ctx.site, tick=ctx.request.method == "GET")


def register(routes: ArmRoutes) -> None:
    # ``slots/production`` names the site itself here (az's ``--action reset --target-slot
    # production``); whether real ARM accepts that spelling on other routes is UNVERIFIED.
    reset = site_action("resetSlotConfig/action")
    routes.add("POST", f"{SLOTS}/production/resetSlotConfig", reset, reset_slot_config)
    for base in (SITE, SLOT):
        routes.add("POST", f"{base}/slotsswap", site_action("slotsswap/action"), swap)
        routes.add("GET", base + "/operationresults/{op}", site_action("operationresults/read"), operation_result)
        routes.add("POST", f"{base}/applySlotConfig", site_action("applySlotConfig/action"), apply_slot_config)
        routes.add("POST", f"{base}/resetSlotConfig", site_action("resetSlotConfig/action"), reset_slot_config)
    routes.observe(_observe)
