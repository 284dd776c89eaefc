"""The apps' own hosts with the real azure-core pipeline and azure-identity credentials: Easy Auth
(audiences, issuer, expiry, anonymous actions, excluded paths, Application ID URIs, who may get
a token), scripted health paths, custom routes and custom domains, and which build answers."""

from __future__ import annotations

import json
import time

import pytest
from azure.core import PipelineClient
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline import policies
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from azure.mgmt.web.models import CsmSlotEntity

from airflow_provider_appservice.testing.app_behaviour import Health

from .scenarios import make_scenario


def app_client(emu, host: str) -> PipelineClient:
    """A plain azure-core pipeline to an app host: no retries, redirects returned as answers."""
    return PipelineClient(
        base_url=f"https://{host}",
        policies=[
            policies.HeadersPolicy(),
            policies.ProxyPolicy(),
            policies.RedirectPolicy(permit_redirects=False),
            policies.RetryPolicy(retry_total=0),
        ],
        transport=RequestsTransport(connection_verify=emu.ca_path),
    )


def get(client: PipelineClient, path: str, token: str | None = None, **headers: str):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.send_request(HttpRequest("GET", client.format_url(path), headers=headers))


def token_for(emu, principal, scope: str) -> str:
    cred = ClientSecretCredential(
        principal.tenant_id, principal.client_id, principal.secret, connection_verify=emu.ca_path
    )
    return cred.get_token(scope).token


@pytest.fixture
def sc(emu):
    return make_scenario(emu, site_name="shop")


def test_easy_auth_accepts_the_app_audience_in_both_spellings(emu, sc):
    api = emu.enable_easy_auth(sc.site)
    seen = []
    emu.add_app_route(sc.site, "GET", "/api/me", lambda r: (seen.append(r) or 200, {}, {"appid": r.caller["appid"]}))
    client = app_client(emu, sc.site.default_host_name)
    for scope in (f"api://{api.client_id}/.default", f"{api.client_id}/.default"):
        response = get(client, "/api/me", token_for(emu, sc.principal, scope))
        assert response.status_code == 200, response.text()
        assert response.json() == {"appid": sc.principal.client_id}
    assert "authorization" not in seen[0].headers and seen[0].caller["tid"] == sc.tenant.tenant_id
    app_requests = [r for r in emu.requests if r.kind == "app"]
    assert [r.audience for r in app_requests] == [f"api://{api.client_id}", api.client_id]
    assert {r.host for r in emu.requests if r.audience and r.audience.endswith(api.client_id)} == {
        sc.site.default_host_name
    }
    assert emu.token_requests(audience=f"api://{api.client_id}") == 1


def test_easy_auth_refuses_wrong_audience_other_tenant_unknown_and_expired_tokens(emu, sc):
    api = emu.enable_easy_auth(sc.site)
    other = make_scenario(emu, site_name="other")
    other_api = emu.enable_easy_auth(other.site)
    client = app_client(emu, sc.site.default_host_name)
    arm = token_for(emu, sc.principal, "https://management.azure.com/.default")
    foreign = token_for(emu, other.principal, f"api://{other_api.client_id}/.default")
    for bad in (arm, foreign, "not-a-token-the-emulator-issued"):
        response = get(client, "/", bad)
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith(f'Bearer realm="{sc.site.default_host_name}"')
        assert f"https://login.microsoftonline.com/{sc.tenant.tenant_id}/oauth2/v2.0/authorize" in challenge
    good = token_for(emu, sc.principal, f"api://{api.client_id}/.default")
    assert get(client, "/", good).status_code == 200
    emu.advance(emu.token_lifetime + 1)
    expired = get(client, "/", good)
    assert expired.status_code == 401 and "expired" in expired.text()


def test_anonymous_requests_follow_the_unauthenticated_action(emu, sc):
    api = emu.enable_easy_auth(sc.site)
    client = app_client(emu, sc.site.default_host_name)
    browser = get(client, "/orders", Accept="text/html,application/xhtml+xml")
    assert browser.status_code == 302
    location = browser.headers["Location"]
    assert location.startswith(f"https://login.microsoftonline.com/{sc.tenant.tenant_id}/oauth2/v2.0/authorize?")
    assert f"client_id={api.client_id}" in location
    assert get(client, "/orders", Accept="application/json").status_code == 401
    assert get(client, "/orders", Accept="text/html", **{"X-Requested-With": "XMLHttpRequest"}).status_code == 401
    health = get(client, "/healthz")  # excluded by default
    assert health.status_code == 200 and health.json()["status"] == "Healthy"

    emu.enable_easy_auth(sc.site, client_app=api, anonymous_redirect="all")
    assert get(client, "/orders").status_code == 302  # curl-like: */*
    emu.enable_easy_auth(sc.site, client_app=api, unauthenticated_action="Return403")
    assert get(client, "/orders", Accept="text/html").status_code == 403
    emu.enable_easy_auth(sc.site, client_app=api, unauthenticated_action="AllowAnonymous", excluded_paths=())
    assert get(client, "/orders").status_code == 200
    assert get(client, "/", "garbage").status_code == 401  # a bad token is refused even then
    emu.disable_easy_auth(sc.site)
    assert get(client, "/orders", Accept="text/html").status_code == 200
    assert emu.easy_auth_settings(sc.site) is None


def test_slots_have_their_own_easy_auth(emu, sc):
    emu.enable_easy_auth(sc.slot, unauthenticated_action="Return401")
    assert get(app_client(emu, sc.site.default_host_name), "/").status_code == 200
    assert get(app_client(emu, sc.slot.default_host_name), "/").status_code == 401


def test_application_id_uri_and_required_callers(emu, sc):
    caller = emu.add_service_principal(sc.tenant)
    api = emu.enable_easy_auth(sc.site, audiences=["https://api.contoso.com/orders"], required_callers=[caller])
    settings = emu.easy_auth_settings(sc.site)
    assert (
        "https://api.contoso.com/orders"
        in settings["identityProviders"]["azureActiveDirectory"]["validation"]["allowedAudiences"]
    )
    client = app_client(emu, sc.site.default_host_name)
    token = token_for(emu, caller, "https://api.contoso.com/orders/.default")
    assert get(client, "/", token).status_code == 200
    with pytest.raises(ClientAuthenticationError, match="AADSTS501051"):
        token_for(emu, sc.principal, f"api://{api.client_id}/.default")
    with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
        token_for(emu, caller, "https://api.fabrikam.com/unknown/.default")


def test_managed_identity_gets_an_app_token(emu, sc):
    mi = emu.add_managed_identity(sc.tenant)
    api = emu.enable_easy_auth(sc.site, allowed_client_applications=[mi])
    token = ManagedIdentityCredential(connection_verify=emu.ca_path).get_token(f"api://{api.client_id}/.default")
    client = app_client(emu, sc.site.default_host_name)
    assert get(client, "/", token.token).status_code == 200
    other = token_for(emu, sc.principal, f"api://{api.client_id}/.default")
    assert get(client, "/", other).status_code == 403  # valid, but not an allowed client application


def probe_statuses(client, path: str, n: int) -> list[int]:
    return [get(client, path).status_code for _ in range(n)]


def test_health_behaviours(emu, sc):
    client = app_client(emu, sc.site.default_host_name)
    emu.set_build(sc.site, "v7")
    assert get(client, "/healthz").json() == {"status": "Healthy", "build": "v7"}

    emu.set_health(sc.site, "/healthz", Health.unhealthy(probes=2))
    assert probe_statuses(client, "/healthz", 4) == [503, 503, 200, 200]
    assert emu.health_probes(sc.site) == 4

    emu.set_health(sc.site, "/healthz", Health.flapping("++-"))
    assert probe_statuses(client, "/healthz", 6) == [200, 200, 503, 200, 200, 503]
    emu.set_health(sc.site, "/healthz", Health.flapping("-+", repeat=False))
    assert probe_statuses(client, "/healthz", 3) == [503, 200, 200]

    emu.set_health(sc.site, "/healthz", "unhealthy")
    assert probe_statuses(client, "/healthz", 3) == [503, 503, 503]

    emu.set_health(sc.site, "/ready", Health.degraded())
    degraded = get(client, "/ready")
    assert degraded.status_code == 200 and degraded.json() == {"status": "Degraded", "build": "v7"}

    emu.set_health(sc.site, "/teapot", Health.status(418, "short and stout"))
    teapot = get(client, "/teapot")
    assert teapot.status_code == 418 and teapot.text() == "short and stout"

    emu.set_health(sc.site, "/slow", Health.slow(0.2))
    started = time.monotonic()
    assert get(client, "/slow").status_code == 200
    assert time.monotonic() - started >= 0.2

    assert get(app_client(emu, sc.slot.default_host_name), "/healthz").json()["build"] == "initial"


def test_crash_loop_and_stopped_win_over_scripts_and_routes(emu, sc):
    client = app_client(emu, sc.site.default_host_name)
    emu.add_app_route(sc.site, "GET", "/api/ping", lambda r: (200, None, "pong"))
    emu.set_runtime_behaviour(sc.site, "crashloop")
    assert probe_statuses(client, "/healthz", 2) == [503, 503]
    assert get(client, "/api/ping").status_code == 503
    emu.set_runtime_behaviour(sc.site, None)
    emu.set_site_state(sc.site, "Stopped")
    assert get(client, "/api/ping").status_code == 403
    emu.set_site_state(sc.site, "Running")
    assert get(client, "/api/ping").text() == "pong"


def test_the_build_that_answers_follows_a_swap(emu, sc):
    emu.set_build(sc.slot, "v2")
    emu.swap_duration_polls = 0
    apps = sc.sync_client().web_apps
    apps.begin_swap_slot("rg", "shop", "staging", CsmSlotEntity(target_slot="production"), polling_interval=0).result()
    assert "build: v2" in get(app_client(emu, sc.site.default_host_name), "/").text()
    assert get(app_client(emu, sc.slot.default_host_name), "/healthz").json()["build"] == "initial"


def test_custom_route_sees_the_request_and_custom_domain_serves_the_app(emu, sc):
    api = emu.enable_easy_auth(sc.site)
    seen = []

    def create_order(info):
        seen.append(info)
        return 201, {"Location": "/api/orders/7", "X-Build": info.build}, {"id": 7, "echo": info.json}

    route = emu.add_app_route(sc.site, "POST", "/api/orders", create_order)
    host = emu.add_custom_domain(sc.site, "api.contoso.com")
    token = token_for(emu, sc.principal, f"api://{api.client_id}/.default")
    client = app_client(emu, host)
    request = HttpRequest(
        "POST",
        client.format_url("/api/orders?dry_run=1"),
        json={"sku": "tea"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"},
    )
    response = client.send_request(request)
    assert response.status_code == 201 and response.json() == {"id": 7, "echo": {"sku": "tea"}}
    assert response.headers["X-Build"] == "initial"
    (info,) = seen
    assert info.method == "POST" and info.path == "/api/orders" and info.query == {"dry_run": "1"}
    assert info.headers["idempotency-key"] == "k-1" and "authorization" not in info.headers
    assert json.loads(info.body) == {"sku": "tea"} and info.host == "api.contoso.com"
    assert info.caller["aud"] == f"api://{api.client_id}" and info.site is sc.site
    assert route.calls == 1
    assert get(client, "/api/orders", token).status_code == 200  # another method: the default page
    assert emu.requests[-1].host == "api.contoso.com" and emu.requests[-1].kind == "app"
    route.remove()
    assert client.send_request(HttpRequest("POST", client.format_url("/api/orders"))).status_code == 401
