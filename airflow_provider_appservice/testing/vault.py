"""Key Vault secrets (``GET /secrets/{name}/[{version}]``), RBAC permission model.

An unauthenticated request gets the 401 challenge SecretClient expects (``authorization`` =
the vault tenant's authority, ``resource`` = the cloud's vault audience), so the unmodified
client with the default ``verify_challenge_resource`` works. Message texts of the 401/403
bodies are close to real ones but UNVERIFIED word for word.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing.clouds import get_cloud, norm_aud
from airflow_provider_appservice.testing.model import SecretVersion, Vault
from airflow_provider_appservice.testing.responses import arm_error, bearer_token, host_info, json_response
from airflow_provider_appservice.testing.state import World

GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"


def secret_json(vault: Vault, name: str, version: SecretVersion) -> dict[str, Any]:
    return {
        "value": version.value,
        "contentType": version.content_type,
        "id": f"{vault.url}/secrets/{name}/{version.version}",
        "attributes": {
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": dict(version.tags),
    }


def router(world: World) -> Router:
    def unauthorized(vault: Vault, message: str) -> Response:
        cloud = get_cloud(vault.cloud)
        challenge = f'Bearer authorization="{cloud.authority_url(vault.tenant_id)}", resource="{cloud.vault_resource}"'
        return arm_error(401, "Unauthorized", message, {"www-authenticate": challenge})

    async def get_secret(request: Request) -> Response:
        vault = host_info(request).target
        assert isinstance(vault, Vault)
        if not request.query_params.get("api-version"):
            return arm_error(400, "BadParameter", "The request URI contains an invalid api-version.")
        token = bearer_token(request)
        if token is None:
            return unauthorized(vault, "AKV10000: Request is missing a Bearer or PoP token.")
        record = world.lookup_token(token)
        cloud = get_cloud(vault.cloud)
        if record is None or record.kind != "access":
            return unauthorized(vault, "AKV10000: The access token is invalid.")
        if world.is_expired(record):
            return unauthorized(vault, "[TokenExpired] Error validating token: 'S2S12086'.")
        if norm_aud(record.aud) != norm_aud(cloud.vault_resource):
            return unauthorized(
                vault, f"AKV10022: Invalid audience. Expected {cloud.vault_resource}, found: {record.aud}."
            )
        if record.tid != vault.tenant_id:
            return unauthorized(
                vault,
                f"AKV10032: Invalid issuer. Expected one of {cloud.v1_issuer(vault.tenant_id)}, found {record.iss}.",
            )
        name = request.path_params["name"]
        target = f"{vault.resource_id}/secrets/{name}"
        if not world.is_authorized(record.oid, GET_SECRET, target, data=True):
            return json_response(
                {
                    "error": {
                        "code": "Forbidden",
                        "message": (
                            "Caller is not authorized to perform action on resource.\r\n"
                            "If role assignments, deny assignments or role definitions were changed "
                            "recently, please observe propagation time.\r\n"
                            f"Caller: appid={record.appid};oid={record.oid};iss={record.iss}\r\n"
                            f"Action: '{GET_SECRET}'\r\nResource: '{target.lower()}'\r\n"
                            "Assignment: (not found)\r\n"
                        ),
                        "innererror": {"code": "ForbiddenByRbac"},
                    }
                },
                403,
            )
        wanted = request.path_params.get("version") or ""
        with world.lock:
            versions = list(vault.secrets.get(name.lower(), []))
        chosen: SecretVersion | None
        if wanted:
            chosen = next((v for v in versions if v.version == wanted), None)
        else:
            chosen = versions[-1] if versions else None
        if chosen is None:
            what = f"{name}/{wanted}" if wanted else name
            return arm_error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {what} was not found in this key vault. If you recently deleted "
                "this secret you may be able to recover it using the correct recovery command. For help "
                "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        return json_response(secret_json(vault, name, chosen))

    return Router(
        routes=[
            Route("/secrets/{name}", get_secret, methods=["GET"]),
            Route("/secrets/{name}/", get_secret, methods=["GET"]),
            Route("/secrets/{name}/{version}", get_secret, methods=["GET"]),
        ]
    )
