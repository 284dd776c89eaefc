"""ARM reads of sites and slots (``GET .../sites/{name}`` and ``.../slots/{slot}``).

The Site JSON carries what the SDK model and the provider read (azure-apis.md §1, §9): admin
``state``, host names with ``hostType`` Standard/Repository, ``serverFarmId``, ``sku`` tier,
``slotSwapStatus``. Other properties are plausible fillers, UNVERIFIED in detail.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from starlette.responses import Response

from airflow_provider_appservice.testing.arm import (
    SITE,
    SITES_IN_GROUP,
    SITES_IN_SUBSCRIPTION,
    SLOT,
    SLOTS,
    ArmContext,
    ArmRoutes,
    site_action,
)
from airflow_provider_appservice.testing.catalog import plan_tier, region_name
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.site_ops import identity_json
from airflow_provider_appservice.testing.state import World


def _ssl_state(host: str, host_type: str) -> dict[str, Any]:
    return {
        "name": host,
        "sslState": "Disabled",
        "ipBasedSslResult": None,
        "virtualIP": None,
        "thumbprint": None,
        "toUpdate": None,
        "toUpdateIpBasedSsl": None,
        "ipBasedSslState": "NotConfigured",
        "hostType": host_type,
    }


@functools.cache
def _site_config_keys() -> tuple[str, ...]:
    """Every ``SiteConfig`` property (the SDK model's REST names): the site GET lists them all."""
    from azure.mgmt.web.models import SiteConfig

    SiteConfig()  # the model maps its fields on first use
    return tuple(f._rest_name for f in SiteConfig._attr_to_rest_field.values())  # type: ignore[misc]


def _site_config_projection(site: Site) -> dict[str, Any]:
    """The site's ``siteConfig`` as a site GET shows it: mostly null, a few values filled in
    (which ones are filled is from recorded answers; the full config is ``config/web``)."""
    projection: dict[str, Any] = dict.fromkeys(_site_config_keys())
    projection.update(
        numberOfWorkers=1,
        linuxFxVersion=site.site_config.get("linuxFxVersion", ""),
        windowsFxVersion=site.site_config.get("windowsFxVersion"),
        acrUseManagedIdentityCreds=False,
        alwaysOn=False,
        http20Enabled=False,
        functionAppScaleLimit=0,
        minimumElasticInstanceCount=1 if "functionapp" in site.kind else 0,
    )
    return projection


def site_json(site: Site) -> dict[str, Any]:
    linux = "linux" in site.kind
    plan = site.plan_id
    props: dict[str, Any] = {
        "name": f"{site.site_name}({site.slot})" if site.slot else site.name,
        "state": site.state,
        "hostNames": [site.default_host_name],
        "webSpace": f"{site.resource_group}-{region_name(site.location)}webspace",
        "repositorySiteName": site.site_name,
        "owner": None,
        "usageState": "Normal",
        "enabled": True,
        "adminEnabled": True,
        "enabledHostNames": [site.default_host_name, site.scm_host_name],
        "availabilityState": "Normal",
        "hostNameSslStates": [
            _ssl_state(site.default_host_name, "Standard"),
            _ssl_state(site.scm_host_name, "Repository"),
        ],
        "serverFarmId": plan,
        "reserved": linux,
        "isXenon": False,
        "hyperV": False,
        "storageRecoveryDefaultState": "Running",
        "contentAvailabilityState": "Normal",
        "runtimeAvailabilityState": "Normal",
        "siteConfig": _site_config_projection(site),
        "deploymentId": site.site_name if site.slot is None else f"{site.site_name}__{site.slot}",
        "slotName": None,  # null in real answers, also for slots
        "sku": plan_tier(site.plan_sku),
        "scmSiteAlsoStopped": False,
        "targetSwapSlot": site.target_swap_slot,
        "hostingEnvironment": None,
        "clientAffinityEnabled": False,
        "clientCertEnabled": False,
        "hostNamesDisabled": False,
        "containerSize": 1536 if "functionapp" in site.kind else 0,
        "dailyMemoryTimeQuota": 0,
        "resourceGroup": site.resource_group,
        "defaultHostName": site.default_host_name,
        "slotSwapStatus": dict(site.slot_swap_status) if site.slot_swap_status else None,
        "httpsOnly": True,
        "redundancyMode": "None",
        "publicNetworkAccess": None,
        "keyVaultReferenceIdentity": site.key_vault_reference_identity,
    }
    body: dict[str, Any] = {
        "id": site.id,
        "name": site.name,
        "type": "Microsoft.Web/sites/slots" if site.slot else "Microsoft.Web/sites",
        "kind": site.kind,
        "location": site.location,
        "tags": {},
        "properties": props,
    }
    identity = identity_json(site)
    if identity is not None:
        body["identity"] = identity
    return body


def etag_header(world: World, site: Site) -> dict[str, str]:
    """``ETag`` as site/slot GET/PUT, config writes, slot-config actions and swap 202s send it:
    a quoted hex string that changes whenever the site's state does (real ones look like
    ``"1DAF0C3E5B6A2B0"``; how Azure derives it is UNVERIFIED, clients only echo it)."""
    with world.lock:
        digest = hashlib.sha256(json.dumps(site_json(site), sort_keys=True, default=str).encode()).hexdigest()
    return {"etag": f'"{digest[:15].upper()}"'}


async def get_site(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    with ctx.world.lock:
        body = site_json(ctx.site)
        etag = etag_header(ctx.world, ctx.site)
    return ctx.json(body, headers=etag)


def _listing(ctx: ArmContext, sites: list[Site]) -> Response:
    """ARM list answers: ``{"value": [...], "nextLink": null}``, one page (no paging modelled)."""
    with ctx.world.lock:
        body = {"value": [site_json(s) for s in sites], "nextLink": None}
    return ctx.json(body)


def _sites(ctx: ArmContext) -> list[Site]:
    with ctx.world.lock:
        return [s for s in ctx.world.sites.values() if s.slot is None]


async def list_in_group(ctx: ArmContext) -> Response:
    rg = ctx.params["rg"].lower()
    sites = [s for s in _sites(ctx) if s.subscription_id == ctx.subscription.subscription_id]
    sites = [s for s in sites if s.resource_group.lower() == rg]
    if ctx.request.query_params.get("includeSlots", "").lower() == "true":
        sites = [x for s in sites for x in (s, *s.slots.values())]
    return _listing(ctx, sites)


async def list_in_subscription(ctx: ArmContext) -> Response:
    """A subscription-wide list shows only the sites the caller may read (no 403), as ARM does."""
    sub = ctx.subscription.subscription_id
    visible = [
        s
        for s in _sites(ctx)
        if s.subscription_id == sub and ctx.world.is_authorized(ctx.caller.oid, "Microsoft.Web/sites/read", s.id)
    ]
    return _listing(ctx, visible)


async def list_slots(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    return _listing(ctx, list(ctx.site.slots.values()))


def register(routes: ArmRoutes) -> None:
    routes.add("GET", SITES_IN_SUBSCRIPTION, site_action("read"), list_in_subscription, authorize=False)
    routes.add("GET", SITES_IN_GROUP, site_action("read"), list_in_group)
    routes.add("GET", SITE, site_action("read"), get_site)
    routes.add("GET", SLOTS, lambda p: "Microsoft.Web/sites/slots/read", list_slots)
    routes.add("GET", SLOT, site_action("read"), get_site)
