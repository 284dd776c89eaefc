"""Site config: ``GET/PUT/PATCH P[/slots/{s}]/config/web`` and ``GET …/config/authsettingsV2``.

``authsettingsV2`` answers with the modelled part of the site's or slot's Easy Auth
(``easyauth.EasyAuthConfig.as_settings``), or ``platform.enabled: false`` when it is off.

The stored config is ``Site.site_config`` (only what was set); answers fill in defaults for the
common ``SiteConfig`` properties (values plausible, UNVERIFIED in detail). ``PUT`` replaces what
was set, ``PATCH`` merges. Read is ``…/config/read``, PUT/PATCH ``…/config/write``.

The container: when ``linuxFxVersion``/``windowsFxVersion`` is ``DOCKER|<image>``, the app host
serves that image, healthy unless declared otherwise (``emu.set_image_behaviour(image,
"crashloop")`` or per site). A crash-looping container leaves the admin ``state`` at
``Running`` (azure-apis.md §10) while the app host answers 503 "Application Error". Real App
Service exposes readiness only indirectly — the app's own host name (and the ARM
``deploymentStatus`` of a deployment, modelled elsewhere); the emulator offers
``emu.runtime_status(site)`` for tests, with no ARM route of its own.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from airflow_provider_appservice.testing import site_ops
from airflow_provider_appservice.testing.arm import SITE, SLOT, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.arm_lifecycle import json_body, op_error
from airflow_provider_appservice.testing.arm_settings import config_resource
from airflow_provider_appservice.testing.arm_sites import etag_header
from airflow_provider_appservice.testing.model import Site

DEFAULT_WEB_CONFIG: dict[str, Any] = {
    "numberOfWorkers": 1,
    "defaultDocuments": ["index.html", "hostingstart.html"],
    "netFrameworkVersion": "v4.0",
    "linuxFxVersion": "",
    "windowsFxVersion": None,
    "requestTracingEnabled": False,
    "remoteDebuggingEnabled": False,
    "httpLoggingEnabled": False,
    "acrUseManagedIdentityCreds": False,
    "acrUserManagedIdentityID": None,
    "logsDirectorySizeLimit": 35,
    "detailedErrorLoggingEnabled": False,
    "publishingUsername": None,
    "scmType": "None",
    "use32BitWorkerProcess": True,
    "webSocketsEnabled": False,
    "alwaysOn": True,
    "appCommandLine": "",
    "managedPipelineMode": "Integrated",
    "loadBalancing": "LeastRequests",
    "autoHealEnabled": False,
    "vnetRouteAllEnabled": False,
    "http20Enabled": False,
    "minTlsVersion": "1.2",
    "scmMinTlsVersion": "1.2",
    "ftpsState": "FtpsOnly",
    "healthCheckPath": None,
    "functionAppScaleLimit": 0,
    "minimumElasticInstanceCount": 0,
}
# Never echoed from a request: App Service keeps these in their own config resources.
_NOT_STORED = {"appSettings", "connectionStrings", "publishingPassword"}


def web_config(site: Site) -> dict[str, Any]:
    props = dict(DEFAULT_WEB_CONFIG)
    if "functionapp" in site.kind:
        props["minimumElasticInstanceCount"] = 1
    props.update(site.site_config)
    return config_resource(site, "web", props)


async def get_config(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    with ctx.world.lock:
        body = web_config(ctx.site)
    return ctx.json(body)


def _writer(merge: bool) -> Any:
    async def handler(ctx: ArmContext) -> Response:
        assert ctx.site is not None
        try:
            body = await json_body(ctx)
            props = body.get("properties") if isinstance(body, dict) else None
            if not isinstance(props, dict):
                raise site_ops.OpError(400, "BadRequest", "The request body must carry a 'properties' object.")
        except site_ops.OpError as err:
            return op_error(ctx, err)
        update = {k: v for k, v in props.items() if k not in _NOT_STORED}
        with ctx.world.lock:
            ctx.site.site_config = {**ctx.site.site_config, **update} if merge else update
            answer = web_config(ctx.site)
            etag = etag_header(ctx.world, ctx.site)  # config writes carry the site's ETag
        return ctx.json(answer, headers=etag)

    return handler


async def get_auth_settings_v2(ctx: ArmContext) -> Response:
    from airflow_provider_appservice.testing import easyauth

    assert ctx.site is not None
    cfg = easyauth.config_of(ctx.world, ctx.site)
    props = cfg.as_settings() if cfg is not None else {"platform": {"enabled": False}}
    return ctx.json(config_resource(ctx.site, "authsettingsV2", props))


def register(routes: ArmRoutes) -> None:
    for base in (SITE, SLOT):
        routes.add("GET", f"{base}/config/authsettingsV2", site_action("config/read"), get_auth_settings_v2)
        routes.add("GET", f"{base}/config/web", site_action("config/read"), get_config)
        routes.add("PUT", f"{base}/config/web", site_action("config/write"), _writer(merge=False))
        routes.add("PATCH", f"{base}/config/web", site_action("config/write"), _writer(merge=True))
