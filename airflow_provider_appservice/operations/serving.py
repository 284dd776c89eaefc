"""Which build an app or slot serves: its container image, or its last Kudu deployment.

A blue/green rollback ends by naming what production serves again; the answer is read from
Azure after the swap back (a swap exchanges the slots' content and site config, so the last
deployment and the image follow the build), never remembered from before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.mgmt.web import WebSiteManagementClient

    from airflow_provider_appservice.operations.targets import AppTarget

_DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def serving_image(client: WebSiteManagementClient, target: AppTarget) -> str | None:
    """The image of ``DOCKER|<image>`` in the site config (Linux or Windows), else None."""
    from azure.core.exceptions import AzureError

    from airflow_provider_appservice.operations.targets import site_call

    what = f"Reading the site config of '{target.label}'"
    try:
        config = site_call(client.web_apps, "get_configuration", target)
    except AzureError as exc:
        raise classify(what, exc, required_action=target.action("config/read")) from None
    for fx in (config.linux_fx_version, config.windows_fx_version):
        if isinstance(fx, str) and fx.upper().startswith("DOCKER|"):
            return fx.split("|", 1)[1]
    return None


def serving_deployment(scm: PipelineClient, target: AppTarget) -> Mapping[str, Any] | None:
    """``{"id", "status"}`` of the slot's last Kudu deployment, or None when it has none.

    The id comes from outside (Kudu's JSON): it is shown only if it looks like an id.
    """
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    from airflow_provider_appservice.operations.deploy import json_body, scm_error

    what = f"Reading the last deployment of '{target.label}'"
    try:
        response = scm.send_request(HttpRequest("GET", scm.format_url("/api/deployments/latest")))
    except AzureError as exc:
        raise classify(what, exc, required_action=target.action("publish/action")) from None
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise scm_error(what, target, response)
    body = json_body(response)
    found = body.get("id") if isinstance(body, Mapping) else None
    if not isinstance(found, str) or not _DEPLOYMENT_ID.match(found):
        return None
    return {"id": found, "status": body.get("status_text") or body.get("status")}


def serving_build(
    client: WebSiteManagementClient,
    scm_for: Callable[[str], PipelineClient],
    target: AppTarget,
    *,
    image: bool,
) -> str:
    """A phrase naming what ``target`` serves: ``image 'x'`` or ``deployment 'id'``."""
    from airflow_provider_appservice.operations.sites import get_site

    if image:
        found = serving_image(client, target)
        return f"image '{found}'" if found else "no container image (the site config names none)"
    site = get_site(client, target.resource_group, target.app_name, target.slot)
    if not site.scm_host_name:
        return "a build Azure does not describe (the site reports no SCM host)"
    deployment = serving_deployment(scm_for(site.scm_host_name), target)
    if deployment is None:
        return "a build with no Kudu deployment record (it was not deployed through Kudu)"
    return f"deployment '{deployment['id']}'"
