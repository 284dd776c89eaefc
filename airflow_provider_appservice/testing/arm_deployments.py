"""ARM runtime deployment status: ``GET P[/slots/{s}]/deploymentStatus/{id}`` and the list.

As in the REST spec example ``GetSiteDeploymentStatus.json`` (azure-apis.md §2): 202 while in
progress and 200 when done, **without** ``Location``/``Azure-AsyncOperation``/``Retry-After``,
so the SDK's ``begin_get_*_deployment_status`` returns the first body and callers poll
themselves. ``{id}`` is the Kudu deployment id (= the ``SCM-DEPLOYMENT-ID`` header). Each GET of
one status counts as a status poll of that deployment (``polls`` mode). A slot's status ends at
``BuildSuccessful`` by default (a reported quirk; see ``deployments``). RBAC action
``Microsoft.Web/sites[/slots]/deploymentStatus/read``, which Reader holds.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from airflow_provider_appservice.testing.arm import SITE, SLOT, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.deployments import Deployment, DeploymentBook, book_of
from airflow_provider_appservice.testing.responses import web_error


def status_json(book: DeploymentBook, dep: Deployment) -> dict[str, Any]:
    status, final = book.runtime_status(dep)
    n = dep.behaviour.instances
    failed = status == "RuntimeFailed"
    site = dep.site
    errors: list[dict[str, Any]] | None = None
    if status in ("BuildFailed", "RuntimeFailed"):
        errors = [{"code": status, "message": dep.error if status == "BuildFailed" else "The app did not start."}]
    return {
        "id": f"{site.id}/deploymentStatus/{dep.id}",
        "name": dep.id,
        "type": "Microsoft.Web/sites/slots/deploymentStatus" if site.slot else "Microsoft.Web/sites/deploymentStatus",
        "properties": {
            "deploymentId": dep.id,
            "status": status,
            "numberOfInstancesInProgress": 0 if final else n,
            "numberOfInstancesSuccessful": n if final and status == "RuntimeSuccessful" else 0,
            "numberOfInstancesFailed": n if failed else 0,
            "failedInstancesLogs": (
                [f"https://{site.scm_host_name}/api/vfs/LogFiles/{dep.id}_instance{i}_docker.log" for i in range(n)]
                if failed
                else []
            ),
            "errors": errors,
        },
    }


async def get_status(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    book = book_of(ctx.world)
    dep = book.get(ctx.site, ctx.params["status_id"])
    if dep is None:
        return web_error(
            404,
            "NotFound",
            f"Deployment status '{ctx.params['status_id']}' was not found for site '{ctx.site.name}'.",
            ctx.headers,
        )
    book.poll(dep)
    body = status_json(book, dep)
    _, final = book.runtime_status(dep)
    return ctx.json(body, 200 if final else 202)


async def list_statuses(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    book = book_of(ctx.world)
    deps = book.of_site(ctx.site)
    return ctx.json({"value": [status_json(book, d) for d in reversed(deps)], "nextLink": None})


def register(routes: ArmRoutes) -> None:
    read = site_action("deploymentStatus/read")
    routes.add("GET", SITE + "/deploymentStatus", read, list_statuses)
    routes.add("GET", SITE + "/deploymentStatus/{status_id}", read, get_status)
    routes.add("GET", SLOT + "/deploymentStatus", read, list_statuses)
    routes.add("GET", SLOT + "/deploymentStatus/{status_id}", read, get_status)
