"""App settings, connection strings, sticky names and Key Vault reference status.

- ``POST P[/slots/{s}]/config/appsettings/list`` (empty body) → 200
  ``{"id","name":"appsettings","type","location","properties":{…}}``; ``PUT …/config/appsettings``
  replaces everything (azure-apis.md §9, §10). Listing is the action
  ``Microsoft.Web/sites[/slots]/config/list/action``, which Reader lacks; writing is
  ``…/config/write``.
- ``POST …/config/connectionstrings/list`` / ``PUT …/config/connectionstrings``: the same, with
  ``properties: {name: {"value", "type"}}`` (type one of ``ConnectionStringType``).
- ``GET/PUT P/config/slotConfigNames`` (site-wide, no slot variant): lists are ``null`` before
  the first PUT and ``[]`` after (recorded).
- ``GET P[/slots/{s}]/config/configreferences/appsettings[/{name}]`` (and ``connectionstrings``):
  ``ApiKVReference`` status resolved with the **app's** identity (see ``site_ops``); read with
  ``…/config/read``. The ``type``/``name`` of each item and the ``details`` texts are UNVERIFIED;
  the spec examples show ``id`` ending in the setting name. An unknown or non-reference setting
  answers 404 (UNVERIFIED).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from airflow_provider_appservice.testing import site_ops
from airflow_provider_appservice.testing.arm import SITE, SLOT, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.arm_lifecycle import json_body, op_error
from airflow_provider_appservice.testing.arm_sites import etag_header
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.responses import web_error


def config_resource(site: Site, name: str, properties: Any) -> dict[str, Any]:
    """A ``config/{name}`` resource. Two recorded oddities: ``slotConfigNames`` has ``id`` null and
    type ``Microsoft.Web/sites``; ``web`` is named after the site with type ``sites/config`` for
    slots too. Their ``name`` for a slot (here the site's name) is UNVERIFIED."""
    rid: str | None = f"{site.id}/config/{name}"
    kind = "Microsoft.Web/sites/slots/config" if site.slot else "Microsoft.Web/sites/config"
    if name == "slotConfigNames":
        rid, name, kind = None, site.site_name, "Microsoft.Web/sites"
    elif name == "web":
        name, kind = site.site_name, "Microsoft.Web/sites/config"
    return {"id": rid, "name": name, "type": kind, "location": site.location, "properties": properties}


async def _properties(ctx: ArmContext) -> dict[str, Any]:
    body = await json_body(ctx)
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise site_ops.OpError(400, "BadRequest", "The request body must carry a 'properties' object.")
    return props


# -- app settings ---------------------------------------------------------------------------------
async def list_app_settings(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    with ctx.world.lock:
        body = config_resource(ctx.site, "appsettings", dict(ctx.site.app_settings))
    return ctx.json(body)


async def put_app_settings(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    try:
        props = await _properties(ctx)
        bad = [k for k, v in props.items() if not isinstance(v, str) and v is not None]
        if bad or any(not k for k in props):
            raise site_ops.OpError(400, "BadRequest", f"App setting values must be strings: {sorted(bad)}.")
    except site_ops.OpError as err:
        return op_error(ctx, err)
    with ctx.world.lock:
        ctx.site.app_settings = {k: v or "" for k, v in props.items()}
        body = config_resource(ctx.site, "appsettings", dict(ctx.site.app_settings))
    return ctx.json(body, headers=etag_header(ctx.world, ctx.site))


# -- connection strings ---------------------------------------------------------------------------
_TYPES = {t.lower(): t for t in site_ops.CONNECTION_STRING_TYPES}


async def list_connection_strings(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    with ctx.world.lock:
        props = {k: dict(v) for k, v in ctx.site.connection_strings.items()}
        body = config_resource(ctx.site, "connectionstrings", props)
    return ctx.json(body)


async def put_connection_strings(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    try:
        props = await _properties(ctx)
        clean: dict[str, dict[str, str]] = {}
        for name, pair in props.items():
            kind = pair.get("type") if isinstance(pair, dict) else None
            value = pair.get("value") if isinstance(pair, dict) else None
            if not isinstance(value, str) or not isinstance(kind, str) or kind.lower() not in _TYPES:
                raise site_ops.OpError(
                    400,
                    "BadRequest",
                    f"Connection string '{name}' needs a string 'value' and a 'type' of "
                    f"{', '.join(site_ops.CONNECTION_STRING_TYPES)}.",
                )
            clean[name] = {"value": value, "type": _TYPES[kind.lower()]}
    except site_ops.OpError as err:
        return op_error(ctx, err)
    with ctx.world.lock:
        ctx.site.connection_strings = clean
        body = config_resource(ctx.site, "connectionstrings", {k: dict(v) for k, v in clean.items()})
    return ctx.json(body, headers=etag_header(ctx.world, ctx.site))


# -- sticky names ---------------------------------------------------------------------------------
_STICKY_KEYS = ("appSettingNames", "connectionStringNames", "azureStorageConfigNames")


async def get_slot_config_names(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    with ctx.world.lock:
        names = ctx.site.slot_config_names
        body = config_resource(ctx.site, "slotConfigNames", {k: _copy(names.get(k)) for k in _STICKY_KEYS})
    return ctx.json(body)


def _copy(value: list[str] | None) -> list[str] | None:
    return None if value is None else list(value)


async def put_slot_config_names(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    try:
        props = await _properties(ctx)
        names: dict[str, list[str] | None] = {}
        for key in _STICKY_KEYS:
            value = props.get(key)
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise site_ops.OpError(400, "BadRequest", f"'{key}' must be a list of names.")
            names[key] = list(value)
    except site_ops.OpError as err:
        return op_error(ctx, err)
    with ctx.world.lock:
        ctx.site.slot_config_names = names
        body = config_resource(ctx.site, "slotConfigNames", {k: _copy(v) for k, v in names.items()})
    return ctx.json(body, headers=etag_header(ctx.world, ctx.site))


# -- Key Vault references -------------------------------------------------------------------------
def _references(area: str) -> Any:
    async def collection(ctx: ArmContext) -> Response:
        assert ctx.site is not None
        items = site_ops.kv_references(ctx.world, ctx.site, area)
        return ctx.json({"value": items, "nextLink": None})

    async def single(ctx: ArmContext) -> Response:
        assert ctx.site is not None
        items = site_ops.kv_references(ctx.world, ctx.site, area, only=ctx.params["key"])
        if not items:
            return web_error(
                404,
                "NotFound",
                f"Cannot find a Key Vault reference named '{ctx.params['key']}' in the {area} of "
                f"site '{ctx.site.name}'.",
                ctx.headers,
            )
        return ctx.json(items[0])

    return collection, single


def register(routes: ArmRoutes) -> None:
    list_action, write, read = (
        site_action("config/list/action"),
        site_action("config/write"),
        site_action("config/read"),
    )
    for base in (SITE, SLOT):
        routes.add("POST", f"{base}/config/appsettings/list", list_action, list_app_settings)
        routes.add("PUT", f"{base}/config/appsettings", write, put_app_settings)
        routes.add("POST", f"{base}/config/connectionstrings/list", list_action, list_connection_strings)
        routes.add("PUT", f"{base}/config/connectionstrings", write, put_connection_strings)
        for area in ("appsettings", "connectionstrings"):
            collection, single = _references(area)
            routes.add("GET", f"{base}/config/configreferences/{area}", read, collection)
            routes.add("GET", f"{base}/config/configreferences/{area}" + "/{key}", read, single)
    routes.add("GET", f"{SITE}/config/slotConfigNames", read, get_slot_config_names)
    routes.add("PUT", f"{SITE}/config/slotConfigNames", write, put_slot_config_names)
