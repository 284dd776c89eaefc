"""ARM's answers as the SDK sees them: authorization, tenants, audiences, missing things, and
the headers every response carries."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.web import WebSiteManagementClient

from .scenarios import make_scenario

ARM = "https://management.azure.com"


def _site_url(sc, name="app", api_version="2025-05-01"):
    url = f"{ARM}/subscriptions/{sc.subscription_id}/resourceGroups/rg/providers/Microsoft.Web/sites/{name}"
    return url + (f"?api-version={api_version}" if api_version else "")


def _token(sc, scope=f"{ARM}/.default"):
    return sc.credential().get_token(scope).token


def test_missing_role_is_authorization_failed(emu):
    sc = make_scenario(emu, "secret", role=None)
    with pytest.raises(HttpResponseError) as info:
        sc.sync_client().web_apps.get("rg", "app")
    assert info.value.status_code == 403
    assert info.value.error.code == "AuthorizationFailed"
    message = info.value.error.message
    assert f"'{sc.principal.client_id}'" in message and f"'{sc.principal.object_id}'" in message
    assert "'Microsoft.Web/sites/read'" in message and sc.site.id in message


def test_slot_read_names_the_slot_action(emu):
    sc = make_scenario(emu, "secret", role=None)
    with pytest.raises(HttpResponseError) as info:
        sc.sync_client().web_apps.get_slot("rg", "app", "staging")
    assert "'Microsoft.Web/sites/slots/read'" in info.value.error.message


@pytest.mark.parametrize("role", ["Reader", "Website Contributor", "Contributor", "Owner"])
def test_roles_that_read_a_site(emu, role):
    sc = make_scenario(emu, "secret", role=None)
    emu.assign_role(sc.principal, role, sc.site)  # at the site: also covers its slots
    client = sc.sync_client()
    assert client.web_apps.get("rg", "app").name == "app"
    assert client.web_apps.get_slot("rg", "app", "staging").name == "app/staging"


def test_a_key_vault_role_does_not_read_sites(emu):
    sc = make_scenario(emu, "secret", role="Key Vault Secrets User")
    with pytest.raises(HttpResponseError, match="AuthorizationFailed"):
        sc.sync_client().web_apps.get("rg", "app")


def test_unknown_site_is_a_pascal_case_404(emu):
    sc = make_scenario(emu, "secret")
    with pytest.raises(ResourceNotFoundError) as info:
        sc.sync_client().web_apps.get("rg", "nosuchapp")
    body = info.value.response.json()
    assert body["Code"] == "NotFound"
    assert body["Message"] == "The Resource 'Microsoft.Web/sites/nosuchapp' under resource group 'rg' was not found."
    assert set(body) == {"Code", "Message", "Target", "Details", "Innererror"}


def test_unknown_slot_and_resource_group(emu):
    sc = make_scenario(emu, "secret", role=None)
    emu.assign_role(sc.principal, "Reader", f"/subscriptions/{sc.subscription_id}")
    client = sc.sync_client()
    with pytest.raises(ResourceNotFoundError):
        client.web_apps.get_slot("rg", "app", "nosuchslot")
    with pytest.raises(ResourceNotFoundError) as info:
        client.web_apps.get("no-rg", "app")
    assert info.value.error.code == "ResourceGroupNotFound"


def test_token_from_another_tenant(emu):
    sc = make_scenario(emu, "secret")
    other = emu.add_tenant()
    stranger = emu.add_service_principal(other)
    emu.assign_role(stranger, "Owner", f"/subscriptions/{sc.subscription_id}")
    cred = ClientSecretCredential(other.tenant_id, stranger.client_id, stranger.secret, connection_verify=emu.ca_path)
    client = WebSiteManagementClient(cred, sc.subscription_id, connection_verify=emu.ca_path)
    with pytest.raises(ClientAuthenticationError) as info:
        client.web_apps.get("rg", "app")
    assert info.value.error.code == "InvalidAuthenticationTokenTenant"
    assert sc.tenant.tenant_id in info.value.response.headers["WWW-Authenticate"]


def test_wrong_audience_missing_token_and_api_version(emu):
    sc = make_scenario(emu, "secret")
    vault_token = _token(sc, "https://vault.azure.net/.default")
    r = requests.get(_site_url(sc), headers={"Authorization": f"Bearer {vault_token}"}, verify=emu.ca_path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    r = requests.get(_site_url(sc), verify=emu.ca_path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
    assert r.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    r = requests.get(_site_url(sc), headers={"Authorization": "Bearer not-a-token"}, verify=emu.ca_path)
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
    arm_token = _token(sc)
    r = requests.get(
        _site_url(sc, api_version=None), headers={"Authorization": f"Bearer {arm_token}"}, verify=emu.ca_path
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("scope", ["https://management.core.windows.net//.default", f"{ARM}/.default"])
def test_both_arm_audiences_are_accepted(emu, scope):
    sc = make_scenario(emu, "secret")
    r = requests.get(_site_url(sc), headers={"Authorization": f"Bearer {_token(sc, scope)}"}, verify=emu.ca_path)
    assert r.status_code == 200, r.text
    assert [r.audience for r in emu.requests if r.kind == "arm"] == [scope.removesuffix("/.default")]


def test_every_arm_response_carries_request_ids_and_rate_limit(emu):
    sc = make_scenario(emu, "secret")
    r = requests.get(
        _site_url(sc),
        headers={"Authorization": f"Bearer {_token(sc)}", "x-ms-client-request-id": "my-id-123"},
        verify=emu.ca_path,
    )
    assert r.headers["x-ms-client-request-id"] == "my-id-123"
    assert r.headers["x-ms-request-id"] and r.headers["x-ms-correlation-request-id"]
    assert int(r.headers["x-ms-ratelimit-remaining-subscription-reads"]) > 0
    body = r.json()
    assert body["type"] == "Microsoft.Web/sites" and body["properties"]["slotSwapStatus"] is None
    assert body["properties"]["serverFarmId"].startswith(f"/subscriptions/{sc.subscription_id}/")


def test_slot_json_names(emu):
    sc = make_scenario(emu, "secret")
    r = requests.get(
        _site_url(sc, "app/slots/staging"), headers={"Authorization": f"Bearer {_token(sc)}"}, verify=emu.ca_path
    )
    body = r.json()
    assert body["name"] == "app/staging" and body["properties"]["name"] == "app(staging)"
    assert body["type"] == "Microsoft.Web/sites/slots"


def test_expired_token_is_refused_and_the_client_refreshes(emu):
    """Lifetimes under 5 minutes make msal treat cached tokens as stale, so after the emulator's
    clock moves past expiry the next call fetches a new token instead of failing."""
    sc = make_scenario(emu, "secret")
    emu.token_lifetime = 120
    client = sc.sync_client()
    client.web_apps.get("rg", "app")
    old = emu.issued_tokens()[-1]
    emu.advance(121)
    r = requests.get(_site_url(sc), headers={"Authorization": f"Bearer {old}"}, verify=emu.ca_path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "ExpiredAuthenticationToken"
    assert client.web_apps.get("rg", "app").name == "app"
    assert emu.token_requests(audience=ARM) == 2


def test_function_app_kind_and_tier(emu):
    sc = make_scenario(emu, "secret")
    fn = emu.add_site(sc.subscription_id, "rg", "fn-app", kind="functionapp,linux", plan_sku="EP1")
    site = sc.sync_client().web_apps.get("rg", "fn-app")
    assert site.kind == "functionapp,linux" and fn.default_host_name == site.default_host_name
    with pytest.raises(ValueError, match="no deployment slots"):
        emu.add_slot(emu.add_site(sc.subscription_id, "rg", "flex", plan_sku="FC1"), "staging")


def test_list_sites_and_slots(emu):
    sc = make_scenario(emu, "secret", role=None)
    emu.assign_role(sc.principal, "Reader", f"/subscriptions/{sc.subscription_id}/resourceGroups/rg")
    emu.add_site(sc.subscription_id, "rg-hidden", f"hidden-{sc.subscription_id[:6]}")
    client = sc.sync_client()
    assert [s.name for s in client.web_apps.list_by_resource_group("rg")] == ["app"]
    assert sorted(s.name for s in client.web_apps.list_by_resource_group("rg", include_slots=True)) == [
        "app",
        "app/staging",
    ]
    assert [s.name for s in client.web_apps.list_slots("rg", "app")] == ["app/staging"]
    assert [s.name for s in client.web_apps.list()] == ["app"]  # the hidden RG's site is filtered out
    with pytest.raises(HttpResponseError, match="AuthorizationFailed"):
        list(client.web_apps.list_by_resource_group("rg-hidden"))
