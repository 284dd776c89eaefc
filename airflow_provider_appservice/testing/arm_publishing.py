"""Publishing credentials and their policies, and the instances list: what ``az webapp show``
and ``az webapp deploy`` read besides the site (the provider itself reads none of it).

- ``POST P[/slots/{s}]/publishxml``: 200, an XML publish profile (Web Deploy, FTP, Zip Deploy)
  with the publishing user and password, as ``list_publishing_profile_xml_with_secrets``
  streams it. Whether real Azure leaves ``userPWD`` in when basic auth is disallowed is
  UNVERIFIED (here it does); the FTP host is a filler.
- ``GET/PUT P[/slots/{s}]/basicPublishingCredentialsPolicies/{scm|ftp}``: ``{id, name, type,
  location, properties: {allow}}``; ``scm`` is ``Site.basic_auth_enabled`` (what Kudu checks),
  ``ftp`` is only remembered.
- ``POST P[/slots/{s}]/config/publishingcredentials/list``: 200 with the publishing user
  (``$app``, ``$app__slot``), its password and ``scmUri`` (the password is the site's
  ``publishing_password``; plant a canary there to prove a client never reads it). Every read
  is in the journal.
- ``GET P[/slots/{s}]/instances``: one instance, ``state: READY`` (Kudu's warm-up reads it;
  the instance id and URLs are fillers).
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any
from xml.sax.saxutils import quoteattr

from starlette.responses import Response

from airflow_provider_appservice.testing.arm import SITE, SLOT, ArmContext, ArmRoutes, site_action
from airflow_provider_appservice.testing.arm_lifecycle import json_body
from airflow_provider_appservice.testing.kudu import publishing_user
from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.site_ops import OpError
from airflow_provider_appservice.testing.state import World

_FTP: weakref.WeakKeyDictionary[World, dict[Site, bool]] = weakref.WeakKeyDictionary()


def _ftp_allowed(world: World) -> dict[Site, bool]:
    with world.lock:
        return _FTP.setdefault(world, {})


def _type(site: Site, leaf: str) -> str:
    return f"Microsoft.Web/sites/{'slots/' if site.slot else ''}{leaf}"


def _profile(site: Site, name: str, method: str, url: str, user: str, extra: str = "") -> str:
    attrs = {
        "profileName": f"{site.name.replace('/', '-')} - {name}",
        "publishMethod": method,
        "publishUrl": url,
        "userName": user,
        "userPWD": site.publishing_password,
        "destinationAppUrl": f"https://{site.default_host_name}",
        "SQLServerDBConnectionString": "",
        "mySQLDBConnectionString": "",
        "hostingProviderForumLink": "",
        "controlPanelLink": "https://portal.azure.com",
        "webSystem": "WebSites",
    }
    text = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    return f"<publishProfile {text}{extra}><databases /></publishProfile>"


async def publish_xml(ctx: ArmContext) -> Response:
    site = ctx.site
    assert site is not None
    user = publishing_user(site)
    scm = f"{site.scm_host_name}:443"
    ftp = "ftps://waws-prod-am2-001.ftp.azurewebsites.windows.net/site/wwwroot"
    with ctx.world.lock:
        body = (
            "<publishData>"
            + "".join(
                (
                    _profile(site, "Web Deploy", "MSDeploy", scm, user, f" msdeploySite={quoteattr(site.site_name)}"),
                    _profile(site, "FTP", "FTP", ftp, f"{site.site_name}\\{user}", ' ftpPassiveMode="True"'),
                    _profile(site, "Zip Deploy", "ZipDeploy", scm, user),
                )
            )
            + "</publishData>"
        )
    return Response(body.encode(), 200, {**ctx.headers, "content-type": "application/xml"})


def _policy_json(ctx: ArmContext, kind: str) -> dict[str, Any]:
    site = ctx.site
    assert site is not None
    allow = site.basic_auth_enabled if kind == "scm" else _ftp_allowed(ctx.world).get(site, False)
    return {
        "id": f"{site.id}/basicPublishingCredentialsPolicies/{kind}",
        "name": kind,
        "type": _type(site, "basicPublishingCredentialsPolicies"),
        "location": site.location,
        "tags": {},
        "properties": {"allow": allow},
    }


def _unknown_policy(ctx: ArmContext) -> Response | None:
    if ctx.params["kind"].lower() in ("scm", "ftp"):
        return None
    return ctx.json({"Code": "NotFound", "Message": f"Policy '{ctx.params['kind']}' was not found."}, 404)


async def get_policy(ctx: ArmContext) -> Response:
    if (refused := _unknown_policy(ctx)) is not None:
        return refused
    with ctx.world.lock:
        return ctx.json(_policy_json(ctx, ctx.params["kind"].lower()))


async def put_policy(ctx: ArmContext) -> Response:
    assert ctx.site is not None
    if (refused := _unknown_policy(ctx)) is not None:
        return refused
    try:
        body = await json_body(ctx)
    except OpError as err:
        return ctx.json({"Code": err.code, "Message": err.message}, err.status)
    props = body.get("properties") if isinstance(body, dict) else None
    allow = props.get("allow") if isinstance(props, dict) else None
    if not isinstance(allow, bool):
        return ctx.json({"Code": "BadRequest", "Message": "properties.allow must be true or false."}, 400)
    kind = ctx.params["kind"].lower()
    with ctx.world.lock:
        if kind == "scm":
            ctx.site.basic_auth_enabled = allow
        else:
            _ftp_allowed(ctx.world)[ctx.site] = allow
        answer = _policy_json(ctx, kind)
    return ctx.json(answer)


async def list_publishing_credentials(ctx: ArmContext) -> Response:
    site = ctx.site
    assert site is not None
    user = publishing_user(site)
    with ctx.world.lock:
        password = site.publishing_password
    body = {
        "id": f"{site.id}/config/publishingcredentials",
        "name": site.name,
        "type": _type(site, "publishingcredentials"),
        "location": site.location,
        "properties": {
            "name": None,
            "publishingUserName": user,
            "publishingPassword": password,
            "publishingPasswordHash": None,
            "publishingPasswordHashSalt": None,
            "metadata": None,
            "isDeleted": False,
            "scmUri": f"https://{user}:{password}@{site.scm_host_name}",
        },
    }
    return ctx.json(body)


async def list_instances(ctx: ArmContext) -> Response:
    site = ctx.site
    assert site is not None
    instance = hashlib.sha256(site.id.lower().encode()).hexdigest()[:64]
    base = f"https://{site.scm_host_name}/instances/{instance}"
    value = {
        "id": f"{site.id}/instances/{instance}",
        "name": instance,
        "type": _type(site, "instances"),
        "location": site.location,
        "properties": {
            "state": "READY",
            "siteInstanceName": instance,
            "statusUrl": f"{base}/status",
            "detectorUrl": f"{base}/detectors",
            "consoleUrl": f"{base}/webssh/host",
            "healthCheckUrl": f"{base}/healthcheck",
            "containers": None,
        },
    }
    return ctx.json({"value": [value], "nextLink": None})


def register(routes: ArmRoutes) -> None:
    for base in (SITE, SLOT):
        routes.add("POST", f"{base}/publishxml", site_action("publishxml/action"), publish_xml)
        policy = base + "/basicPublishingCredentialsPolicies/{kind}"
        routes.add("GET", policy, site_action("basicPublishingCredentialsPolicies/read"), get_policy)
        routes.add("PUT", policy, site_action("basicPublishingCredentialsPolicies/write"), put_policy)
        routes.add(
            "POST",
            f"{base}/config/publishingcredentials/list",
            site_action("config/list/action"),
            list_publishing_credentials,
        )
        routes.add("GET", f"{base}/instances", site_action("instances/read"), list_instances)
