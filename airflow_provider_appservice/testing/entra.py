"""Entra ID on each cloud's authority host: discovery documents and the client-credentials
token endpoint (secret, certificate assertion, federated assertion).

Error codes and texts follow public AADSTS documentation; which HTTP status Entra pairs with
each (400 vs 401) is UNVERIFIED beyond AADSTS7000215 (401) and AADSTS90002/700016 (400).
Assertion time checks use the emulator clock with a 5-minute skew allowance, as Entra allows.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl, urlparse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from airflow_provider_appservice.testing import easyauth, tokens
from airflow_provider_appservice.testing.clouds import Cloud
from airflow_provider_appservice.testing.model import Principal, Tenant
from airflow_provider_appservice.testing.responses import aad_error, host_info, json_response
from airflow_provider_appservice.testing.state import World

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SKEW = 300
_MULTI_TENANT = {"common", "organizations", "consumers"}
_PUBLIC_ALIASES = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]


def openid_configuration(cloud: Cloud, tenant: str) -> dict[str, object]:
    base = f"https://{cloud.authority_host}/{tenant}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": cloud.v2_issuer(tenant),
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "azp"],
        "cloud_instance_name": cloud.authority_host.split(".", 1)[1],
    }


def _tenant(world: World, cloud: Cloud, segment: str) -> Tenant | None:
    with world.lock:
        t = world.tenants.get(segment.lower())
    return t if t is not None and t.cloud == cloud.name else None


def _tenant_not_found(segment: str) -> Response:
    return aad_error(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud.",
    )


def router(world: World) -> Router:
    async def discovery_document(request: Request) -> Response:
        cloud = host_info(request).cloud
        assert cloud is not None
        segment = request.path_params["tenant"]
        if segment.lower() in _MULTI_TENANT:
            return json_response(openid_configuration(cloud, "{tenantid}"))
        t = _tenant(world, cloud, segment)
        if t is None:
            return _tenant_not_found(segment)
        return json_response(openid_configuration(cloud, t.tenant_id))

    async def instance_discovery(request: Request) -> Response:
        cloud = host_info(request).cloud
        assert cloud is not None
        endpoint = request.query_params.get("authorization_endpoint", "")
        tenant = (urlparse(endpoint).path.strip("/").split("/") or ["common"])[0] or "common"
        aliases = _PUBLIC_ALIASES if cloud.name == "public" else [cloud.authority_host]
        host = cloud.authority_host
        return json_response(
            {
                "tenant_discovery_endpoint": f"https://{host}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": aliases}],
            }
        )

    async def token(request: Request) -> Response:
        cloud = host_info(request).cloud
        assert cloud is not None
        segment = request.path_params["tenant"]
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        t = _tenant(world, cloud, segment)
        if t is None:
            return _tenant_not_found(segment)
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            return aad_error(
                400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
            )
        client_id = form.get("client_id", "")
        app = world.find_app(t.tenant_id, client_id) if client_id else None
        if app is None:
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{t.tenant_id}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may have "
                "sent your authentication request to the wrong tenant.",
            )
        audience = _audience(form.get("scope", ""))
        if audience is None:
            return aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope', '')} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        if not world.known_resource(cloud, audience):
            return aad_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {audience} was not found in the tenant named "
                f"{t.tenant_id}. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant.",
            )
        failure = _authenticate(world, cloud, t, app, form)
        if failure is not None:
            return failure
        refusal = easyauth.token_refusal(world, app, audience)  # an API that requires assignment
        if refusal is not None:
            return aad_error(400, "invalid_grant", 501051, refusal.split(": ", 1)[1])
        # A CAE "claims" field (xms_cc) is accepted and changes nothing here.
        record = world.issue_token(app, audience, "token")
        lifetime = int(world.token_lifetime)
        body: dict[str, object] = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": record.token,
        }
        if lifetime >= 7200:
            body["refresh_in"] = lifetime // 2
        return json_response(body, headers={"cache-control": "no-store, no-cache", "pragma": "no-cache"})

    return Router(
        routes=[
            Route("/common/discovery/instance", instance_discovery, methods=["GET"]),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery_document, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        ]
    )


def _audience(scope: str) -> str | None:
    """``X/.default`` → ``X`` (so ``https://management.core.windows.net//.default`` keeps its slash)."""
    for s in scope.split():
        if s.endswith("/.default"):
            return s[: -len("/.default")]
    return None


def _authenticate(world: World, cloud: Cloud, t: Tenant, app: Principal, form: dict[str, str]) -> Response | None:
    """None when the client proved who it is; else the error Entra would answer."""
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if secret is not None:
        if app.secret is None or not hmac.compare_digest(secret.encode(), app.secret.encode()):
            return aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app '{app.client_id}'.",
            )
        return None
    if assertion is None:
        return aad_error(
            401,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        )
    if form.get("client_assertion_type") != JWT_BEARER:
        return aad_error(400, "invalid_request", 7000216, "client_assertion_type must be jwt-bearer.")
    record = world.lookup_token(assertion)
    if record is not None:
        return _federated(world, app, record)
    return _certificate(world, cloud, t, app, assertion)


def _federated(world: World, app: Principal, record) -> Response | None:
    if world.is_expired(record):
        return aad_error(400, "invalid_client", 700024, "Client assertion is not within its valid time range.")
    for fc in app.federated_credentials:
        if fc.issuer == record.iss and fc.subject == record.sub and fc.audience == record.aud:
            return None
    return aad_error(
        400,
        "invalid_request",
        70021,
        "No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{record.iss}'. Assertion Subject: '{record.sub}'. "
        f"Assertion Audience: '{record.aud}'.",
    )


def _certificate(world: World, cloud: Cloud, t: Tenant, app: Principal, assertion: str) -> Response | None:
    jwt = tokens.parse_jwt(assertion)
    if jwt is None:
        return aad_error(400, "invalid_client", 50027, "JWT token is invalid or malformed.")
    if app.certificate is None:
        return aad_error(
            401,
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application.",
        )
    reason = tokens.verify_assertion_signature(jwt, app.certificate)
    if reason is not None:
        return aad_error(401, "invalid_client", 700027, f"Client assertion failed signature validation ({reason}).")
    claims = jwt.claims
    valid_audiences = {cloud.token_endpoint(t.tenant_id), f"https://{cloud.authority_host}/{t.tenant_id}/oauth2/token"}
    if claims.get("aud") not in valid_audiences:
        return aad_error(401, "invalid_client", 50013, "Assertion audience claim does not match the required value.")
    if claims.get("iss") != claims.get("sub") or str(claims.get("sub", "")).lower() != app.client_id:
        return aad_error(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        )
    now = world.now()
    try:
        exp, nbf = float(claims["exp"]), float(claims.get("nbf", claims.get("iat", now)))
    except (KeyError, TypeError, ValueError):
        return aad_error(400, "invalid_client", 50027, "JWT token is invalid or malformed.")
    if exp <= now - SKEW or nbf > now + SKEW:
        return aad_error(400, "invalid_client", 700024, "Client assertion is not within its valid time range.")
    return None
