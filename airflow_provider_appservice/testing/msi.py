"""Managed identity endpoints on the loopback listener (plain http, as in real Azure):

- App Service: ``GET /msi/token?api-version=2019-08-01&resource=...`` with ``X-IDENTITY-HEADER``;
  answers ``expires_on`` (epoch seconds, as a string, on the emulator clock);
- IMDS: ``GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...`` with
  ``Metadata: true``; answers ``expires_in``.

Both serve every managed identity of the emulator: the system-assigned one when the request
names none, a user-assigned one by ``client_id`` / ``object_id`` / ``mi_res_id`` (``msi_res_id``
on IMDS). The exact error bodies for a missing header or an unknown identity are UNVERIFIED.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing import easyauth
from airflow_provider_appservice.testing.clouds import get_cloud
from airflow_provider_appservice.testing.model import Principal
from airflow_provider_appservice.testing.responses import json_response
from airflow_provider_appservice.testing.state import World


def _bad(description: str, status: int = 400) -> Response:
    return json_response({"error": "invalid_request", "error_description": description}, status)


def router(world: World, identity_header: str) -> Router:
    def select(request: Request, resource_key: str) -> tuple[Principal | None, str, Response | None]:
        q = request.query_params
        if not q.get("api-version"):
            return None, "", _bad("Required query variable 'api-version' is missing")
        mi = world.find_managed_identity(
            client_id=q.get("client_id"),
            object_id=q.get("object_id") or q.get("principal_id"),
            resource_id=q.get(resource_key) or q.get("mi_res_id"),
        )
        resource = q.get("resource", "")
        if not resource:
            return None, "", _bad("Required audience parameter not specified")
        if mi is None:
            return None, "", _bad("Identity not found")
        if not world.known_resource(get_cloud(mi.cloud), resource):
            return None, "", _bad(f"AADSTS500011: The resource principal named {resource} was not found.")
        refusal = easyauth.token_refusal(world, mi, resource)
        if refusal is not None:
            return None, "", _bad(refusal)
        return mi, resource, None

    async def app_service(request: Request) -> Response:
        sent = request.headers.get("x-identity-header", "")
        if not hmac.compare_digest(sent.encode(), identity_header.encode()):
            return json_response({"statusCode": 401, "message": "Unauthorized: X-IDENTITY-HEADER"}, 401)
        mi, resource, error = select(request, "mi_res_id")
        if mi is None:
            return error or _bad("bad request")
        record = world.issue_token(mi, resource, "msi")
        return json_response(
            {
                "access_token": record.token,
                "expires_on": str(int(record.exp)),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": mi.client_id,
            }
        )

    async def imds(request: Request) -> Response:
        if request.headers.get("metadata", "").lower() != "true":
            return _bad("Required metadata header not specified")
        mi, resource, error = select(request, "msi_res_id")
        if mi is None:
            return error or _bad("bad request")
        record = world.issue_token(mi, resource, "imds")
        lifetime = str(int(world.token_lifetime))
        return json_response(
            {
                "access_token": record.token,
                "client_id": mi.client_id,
                "expires_in": lifetime,
                "expires_on": str(int(record.exp)),
                "ext_expires_in": lifetime,
                "not_before": str(int(record.claims["nbf"])),
                "resource": resource,
                "token_type": "Bearer",
            }
        )

    return Router(
        routes=[
            Route("/msi/token", app_service, methods=["GET"]),
            Route("/metadata/identity/oauth2/token", imds, methods=["GET"]),
        ]
    )
