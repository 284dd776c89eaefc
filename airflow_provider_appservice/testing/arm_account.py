"""What a client reads and creates before it ever names a site: subscriptions and tenants (``az
login``), resource groups and App Service plans (``az group create``, ``az appservice plan
create``) and the name check of ``az webapp create``.

- ``GET /subscriptions`` lists the subscriptions of the caller's tenant in which it holds any
  role assignment; ``GET /subscriptions/{id}`` answers one of them (404 ``SubscriptionNotFound``
  otherwise), ``GET /tenants`` the caller's tenant. Shapes follow the Resources SDK models
  (api-version 2022-12-01); ``displayName``, ``subscriptionPolicies`` and the tenant's domains
  are fillers, UNVERIFIED.
- Resource groups: ``PUT`` answers 201 when created, 200 when it existed; ``GET``/``HEAD``.
- Plans (``serverfarms``): ``PUT`` creates (200, as the SDK's poller then finishes at once; real
  Azure may answer 201/202, UNVERIFIED), ``GET`` answers a created plan or the implicit plan of a
  seeded site (``<site>-plan``). The property set is the SDK model's; values are UNVERIFIED
  fillers except ``sku``, ``kind``, ``reserved`` and ``numberOfSites``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from airflow_provider_appservice.testing.arm import ArmContext, ArmRoutes
from airflow_provider_appservice.testing.arm_lifecycle import json_body
from airflow_provider_appservice.testing.catalog import plan_tier, region_display, region_name
from airflow_provider_appservice.testing.responses import arm_error
from airflow_provider_appservice.testing.site_ops import OpError
from airflow_provider_appservice.testing.state import World

GROUP = "/subscriptions/{sub}/resourcegroups/{rg}"
PLAN = GROUP + "/providers/Microsoft.Web/serverfarms/{plan}"


@dataclass
class Plan:
    subscription_id: str
    resource_group: str
    name: str
    sku: str
    kind: str
    location: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Web/serverfarms/{self.name}"
        )


@dataclass
class Account:
    """Plans and group locations, per emulator (``World`` knows groups only by name)."""

    plans: dict[str, Plan]
    group_locations: dict[tuple[str, str], str]


_ACCOUNTS: weakref.WeakKeyDictionary[World, Account] = weakref.WeakKeyDictionary()


def account_of(world: World) -> Account:
    with world.lock:
        acct = _ACCOUNTS.get(world)
        if acct is None:
            acct = _ACCOUNTS[world] = Account({}, {})
        return acct


def find_plan(world: World, plan_id: str) -> Plan | None:
    """A created plan, or the implicit ``<site>-plan`` of seeded sites (their SKU and kind)."""
    with world.lock:
        plan = account_of(world).plans.get(plan_id.lower())
        if plan is not None:
            return plan
        for site in world.sites.values():
            if site.slot is None and site.plan_id.lower() == plan_id.lower():
                kind = "linux" if "linux" in site.kind else "app"
                return Plan(
                    site.subscription_id,
                    site.resource_group,
                    site.plan_id.rsplit("/", 1)[-1],
                    site.plan_sku,
                    kind,
                    site.location,
                )
    return None


# -- subscriptions and tenants ------------------------------------------------------------------
def _visible(world: World, caller_oid: str, caller_tid: str) -> list[str]:
    with world.lock:
        return [
            s.subscription_id
            for s in world.subscriptions.values()
            if s.tenant_id == caller_tid
            and any(
                a.object_id == caller_oid and a.scope.lower().startswith(f"/subscriptions/{s.subscription_id}")
                for a in world.assignments
            )
        ]


def _subscription_json(sid: str, tenant_id: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sid}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sid,
        "tenantId": tenant_id,
        "displayName": f"Emulated subscription {sid[:8]}",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


async def list_subscriptions(ctx: ArmContext) -> Response:
    subs = _visible(ctx.world, ctx.caller.oid, ctx.caller.tid)
    return ctx.json(
        {"value": [_subscription_json(s, ctx.caller.tid) for s in subs], "count": {"type": "Total", "value": len(subs)}}
    )


async def get_subscription(ctx: ArmContext) -> Response:
    sid = ctx.subscription.subscription_id
    if sid not in _visible(ctx.world, ctx.caller.oid, ctx.caller.tid):
        return arm_error(404, "SubscriptionNotFound", f"The subscription '{sid}' could not be found.", ctx.headers)
    return ctx.json(_subscription_json(sid, ctx.caller.tid))


async def list_tenants(ctx: ArmContext) -> Response:
    tid = ctx.caller.tid
    domain = f"emulated{tid[:8]}.onmicrosoft.com"
    tenant = {
        "id": f"/tenants/{tid}",
        "tenantId": tid,
        "countryCode": "US",
        "displayName": f"Emulated tenant {tid[:8]}",
        "domains": [domain],
        "tenantCategory": "Home",
        "defaultDomain": domain,
        "tenantType": "AAD",
    }
    return ctx.json({"value": [tenant], "count": {"type": "Total", "value": 1}})


# -- resource groups ------------------------------------------------------------------------------
def _group_json(ctx: ArmContext, name: str) -> dict[str, Any]:
    sid = ctx.subscription.subscription_id
    location = account_of(ctx.world).group_locations.get((sid, name.lower()), "westeurope")
    return {
        "id": f"/subscriptions/{sid}/resourceGroups/{name}",
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
    }


async def put_group(ctx: ArmContext) -> Response:
    try:
        body = await json_body(ctx)
    except OpError as err:
        return arm_error(err.status, err.code, err.message, ctx.headers)
    location = body.get("location") if isinstance(body, dict) else None
    if not isinstance(location, str) or not location:
        return arm_error(400, "LocationRequired", "The location property is required for this definition.", ctx.headers)
    sid, rg = ctx.subscription.subscription_id, ctx.params["rg"]
    with ctx.world.lock:
        existed = rg.lower() in ctx.subscription.resource_groups
        name = ctx.world.add_resource_group(sid, rg)
        account_of(ctx.world).group_locations.setdefault((sid, rg.lower()), region_name(location))
        body = _group_json(ctx, name)
    return ctx.json(body, 200 if existed else 201)


async def get_group(ctx: ArmContext) -> Response:
    name = ctx.subscription.resource_groups[ctx.params["rg"].lower()]
    return ctx.json(_group_json(ctx, name))


async def head_group(ctx: ArmContext) -> Response:
    return ctx.empty(204)


# -- plans ----------------------------------------------------------------------------------------
def plan_json(world: World, plan: Plan) -> dict[str, Any]:
    tier = plan_tier(plan.sku)
    with world.lock:
        sites = sum(1 for s in world.sites.values() if s.slot is None and s.plan_id.lower() == plan.id.lower())
    linux = plan.kind.lower() == "linux"
    props: dict[str, Any] = {
        "serverFarmId": 0,
        "name": plan.name,
        "workerSize": "Default",
        "workerSizeId": 0,
        "numberOfWorkers": 1,
        "currentWorkerSize": "Default",
        "currentWorkerSizeId": 0,
        "currentNumberOfWorkers": 1,
        "status": "Ready",
        "webSpace": f"{plan.resource_group}-{region_name(plan.location)}webspace{'-Linux' if linux else ''}",
        "subscription": plan.subscription_id,
        "hostingEnvironmentProfile": None,
        "maximumNumberOfWorkers": 30,
        "planName": "VirtualDedicatedPlan",
        "geoRegion": region_display(plan.location),
        "perSiteScaling": False,
        "elasticScaleEnabled": False,
        "maximumElasticWorkerCount": 1,
        "numberOfSites": sites,
        "isSpot": False,
        "spotExpirationTime": None,
        "freeOfferExpirationTime": None,
        "resourceGroup": plan.resource_group,
        "reserved": linux,
        "isXenon": False,
        "hyperV": False,
        "targetWorkerCount": 0,
        "targetWorkerSizeId": 0,
        "provisioningState": "Succeeded",
        "kubeEnvironmentProfile": None,
        "zoneRedundant": False,
    }
    return {
        "id": plan.id,
        "name": plan.name,
        "type": "Microsoft.Web/serverfarms",
        "kind": plan.kind,
        "location": region_display(plan.location),
        "tags": {},
        "properties": props,
        "sku": {
            "name": plan.sku,
            "tier": tier,
            "size": plan.sku,
            "family": plan.sku.rstrip("0123456789v"),
            "capacity": 1,
        },
    }


def _plan_id(ctx: ArmContext) -> str:
    p = ctx.params
    return f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}/providers/Microsoft.Web/serverfarms/{p['plan']}"


async def get_plan(ctx: ArmContext) -> Response:
    plan = find_plan(ctx.world, _plan_id(ctx))
    if plan is None:
        msg = f"The Resource 'Microsoft.Web/serverFarms/{ctx.params['plan']}' under resource group '{ctx.params['rg']}' was not found."
        return arm_error(404, "ResourceNotFound", msg, ctx.headers)
    return ctx.json(plan_json(ctx.world, plan))


async def put_plan(ctx: ArmContext) -> Response:
    try:
        body = await json_body(ctx)
    except OpError as err:
        return arm_error(err.status, err.code, err.message, ctx.headers)
    if not isinstance(body, dict) or not isinstance(body.get("location"), str):
        return arm_error(400, "LocationRequired", "The location property is required for this definition.", ctx.headers)
    sku: dict[str, Any] = body["sku"] if isinstance(body.get("sku"), dict) else {}
    props: dict[str, Any] = body["properties"] if isinstance(body.get("properties"), dict) else {}
    kind = (
        "linux"
        if props.get("reserved") or str(body.get("kind", "")).lower() == "linux"
        else str(body.get("kind") or "app")
    )
    sid, rg = ctx.subscription.subscription_id, ctx.subscription.resource_groups[ctx.params["rg"].lower()]
    plan = Plan(sid, rg, ctx.params["plan"], str(sku.get("name") or "P1v3"), kind, region_display(body["location"]))
    with ctx.world.lock:
        account_of(ctx.world).plans[plan.id.lower()] = plan
    return ctx.json(plan_json(ctx.world, plan))


async def check_name(ctx: ArmContext) -> Response:
    """``checknameavailability``: a site name is taken when its default host name is."""
    try:
        body = await json_body(ctx)
    except OpError as err:
        return arm_error(err.status, err.code, err.message, ctx.headers)
    name = str(body.get("name", "")) if isinstance(body, dict) else ""
    taken = ctx.world.resolve_host(f"{name.lower()}.azurewebsites.net") is not None
    answer: dict[str, Any] = {"nameAvailable": not taken, "reason": None, "message": None}
    if taken:
        answer.update(
            reason="AlreadyExists", message=f"Hostname '{name}' already exists. Please select a different name."
        )
    return ctx.json(answer)


def register(routes: ArmRoutes) -> None:
    read_sub = lambda p: "Microsoft.Resources/subscriptions/read"  # noqa: E731
    routes.add("GET", "/subscriptions", read_sub, list_subscriptions, authorize=False)
    routes.add("GET", "/tenants", lambda p: "Microsoft.Resources/tenants/read", list_tenants, authorize=False)
    routes.add("GET", "/subscriptions/{sub}", read_sub, get_subscription, authorize=False)
    group = lambda verb: lambda p: f"Microsoft.Resources/subscriptions/resourceGroups/{verb}"  # noqa: E731
    routes.add("PUT", GROUP, group("write"), put_group, creates=True)
    routes.add("GET", GROUP, group("read"), get_group)
    routes.add("HEAD", GROUP, group("read"), head_group)
    routes.add("GET", PLAN, lambda p: "Microsoft.Web/serverFarms/read", get_plan)
    routes.add("PUT", PLAN, lambda p: "Microsoft.Web/serverFarms/write", put_plan)
    routes.add(
        "POST",
        "/subscriptions/{sub}/providers/Microsoft.Web/checknameavailability",
        lambda p: "Microsoft.Web/checknameavailability/read",
        check_name,
        authorize=False,
    )
