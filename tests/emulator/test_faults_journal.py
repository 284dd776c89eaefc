"""Fault injection as azure-core experiences it, and what the journal does and does not keep."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from .scenarios import make_scenario

ARM = "https://management.azure.com"
SITE_PATH = r"/providers/Microsoft\.Web/sites/app$"


def _arm_statuses(emu):
    return [r.status for r in emu.requests if r.kind == "arm"]


def test_two_503s_then_success_with_retry_after_ms(emu):
    sc = make_scenario(emu)
    fault = emu.fault(503, host="management.azure.com", path=SITE_PATH, times=2, retry_after_ms=1)
    assert sc.sync_client().web_apps.get("rg", "app").name == "app"
    assert fault.hits == 2
    assert _arm_statuses(emu) == [503, 503, 200]


def test_aio_client_retries_too(emu):
    sc = make_scenario(emu)
    emu.fault(429, kind="arm", times=1, retry_after_ms=1)

    async def read():
        client = sc.aio_client()
        async with client:
            site = await client.web_apps.get("rg", "app")
        await client._config.credential.close()
        return site

    assert asyncio.run(read()).name == "app"
    assert _arm_statuses(emu) == [429, 200]


def test_fault_body_is_in_the_route_style(emu):
    sc = make_scenario(emu)
    emu.fault(503, kind="arm", times=None, retry_after=1)
    client = sc.sync_client()
    with pytest.raises(HttpResponseError) as info:
        client.web_apps.get("rg", "app", retry_total=0)
    assert info.value.status_code == 503 and info.value.error.code == "ServiceUnavailable"
    assert info.value.response.headers["Retry-After"] == "1"


def test_always_failing_exhausts_the_client_retries(emu):
    sc = make_scenario(emu)
    fault = emu.fault(500, path=SITE_PATH, times=None, retry_after_ms=1)
    from azure.mgmt.web import WebSiteManagementClient

    client = WebSiteManagementClient(sc.credential(), sc.subscription_id, connection_verify=emu.ca_path, retry_total=2)
    with pytest.raises(HttpResponseError) as info:
        client.web_apps.get("rg", "app")
    assert info.value.status_code == 500
    assert fault.hits == 3
    fault.remove()
    assert client.web_apps.get("rg", "app").name == "app"


def test_reset_once_is_retried_and_always_reset_fails(emu):
    sc = make_scenario(emu)
    client = sc.sync_client()
    client.web_apps.get("rg", "app")  # token fetched, connection pooled
    once = emu.fault(reset=True, path=SITE_PATH, times=1)
    assert client.web_apps.get("rg", "app").name == "app"
    assert once.hits == 1
    assert _arm_statuses(emu) == [200, 0, 200]
    emu.fault(reset=True, path=SITE_PATH, times=None)
    # On a fresh proxied connection urllib3 reports the reset as a proxy error (ServiceRequestError).
    with pytest.raises((ServiceResponseError, ServiceRequestError)):
        client.web_apps.get("rg", "app", retry_total=1, retry_backoff_factor=0)


def test_faults_on_the_token_and_msi_endpoints(emu):
    sc = make_scenario(emu, "secret")
    emu.fault(503, kind="token", times=1, retry_after_ms=1)
    assert sc.sync_client().web_apps.get("rg", "app").name == "app"
    assert [r.status for r in emu.requests if r.kind == "token"] == [503, 200]
    mi = make_scenario(emu, "msi")
    emu.fault(503, kind="msi", times=1, retry_after_ms=1)
    assert mi.sync_client().web_apps.get("rg", "app").name == "app"
    assert [r.status for r in emu.requests if r.kind == "msi"] == [503, 200]


def test_reset_on_the_managed_identity_endpoint_is_retried(emu):
    """The MSI endpoint is reached directly (not via the proxy); a reset there aborts the socket."""
    sc = make_scenario(emu, "msi")
    fault = emu.fault(reset=True, kind="msi", times=1)
    assert sc.sync_client().web_apps.get("rg", "app").name == "app"
    assert fault.hits == 1
    assert [r.status for r in emu.requests if r.kind == "msi"] == [0, 200]


def test_delay_without_status_lets_the_route_answer(emu):
    sc = make_scenario(emu)
    client = sc.sync_client()
    client.web_apps.get("rg", "app")
    emu.fault(delay=0.05, path=SITE_PATH, times=1)
    started = time.monotonic()
    assert client.web_apps.get("rg", "app").name == "app"
    assert time.monotonic() - started >= 0.05
    assert _arm_statuses(emu) == [200, 200]
    with pytest.raises(ValueError):
        emu.fault(delay=3600)


def test_clear_faults_and_method_filter(emu):
    sc = make_scenario(emu)
    emu.fault(503, method="POST", kind="arm", times=None)  # GETs are not affected
    assert sc.sync_client().web_apps.get("rg", "app").name == "app"
    emu.fault(503, kind="arm", times=None)
    emu.clear_faults()
    assert sc.sync_client().web_apps.get("rg", "app").name == "app"


def test_journal_counts_tokens_per_audience_and_keeps_no_secrets(emu):
    sc = make_scenario(emu, "secret")
    client = sc.sync_client()
    for _ in range(3):
        client.web_apps.get("rg", "app")
    vault = emu.add_vault(sc.tenant, f"kvj{sc.subscription_id[:8]}")
    emu.assign_role(sc.principal, "Key Vault Secrets User", vault)
    from azure.keyvault.secrets import SecretClient

    emu.set_secret(vault, "present", "canary-VAULT-VALUE-7781")
    SecretClient(vault, sc.credential(), connection_verify=emu.ca_path).get_secret("present")
    assert emu.token_requests(audience=ARM) == 1
    assert emu.token_requests(audience="https://vault.azure.net") == 1
    assert emu.token_requests(client_id=sc.principal.client_id) == 2
    # A query string never reaches the journal (function keys and SAS signatures travel there).
    canary = "canary-QUERY-0451"
    requests.get(f"https://{sc.site.default_host_name}/api/x?code={canary}", verify=emu.ca_path)
    kinds = [r.kind for r in emu.requests]
    assert kinds.count("arm") == 3 and "discovery" in kinds and "token" in kinds and "vault" in kinds
    assert "app" in kinds
    blob = repr(emu.requests)
    secrets_to_find = [sc.principal.secret, canary, "canary-VAULT-VALUE-7781", *emu.issued_tokens()]
    assert all(s and s not in blob for s in secrets_to_find)
    # Positive control: the same scan finds a planted secret.
    planted = blob + repr(secrets_to_find[0])
    assert any(s in planted for s in secrets_to_find)
    bearer_hosts = {r.host for r in emu.requests if r.bearer}
    assert bearer_hosts == {"management.azure.com", vault.removeprefix("https://")}


def test_token_formats_and_refresh_in(emu):
    from airflow_provider_appservice.testing.tokens import parse_jwt

    sc = make_scenario(emu)
    token = sc.credential().get_token(f"{ARM}/.default").token
    claims = parse_jwt(token).claims
    assert {"aud", "iss", "iat", "nbf", "exp", "oid", "appid", "azp", "tid", "sub"} <= set(claims)
    assert claims["aud"] == ARM and claims["tid"] == sc.tenant.tenant_id and claims["appid"] == sc.principal.client_id
    assert claims["exp"] - claims["iat"] == emu.token_lifetime

    emu.token_format = "opaque"
    opaque = make_scenario(emu)
    token = opaque.credential().get_token(f"{ARM}/.default").token
    assert token.count(".") == 0 and parse_jwt(token) is None
    assert opaque.sync_client().web_apps.get("rg", "app").name == "app"  # still validated by lookup

    url = f"https://login.microsoftonline.com/{sc.tenant.tenant_id}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": sc.principal.client_id,
        "client_secret": sc.principal.secret,
        "scope": f"{ARM}/.default",
    }
    assert "refresh_in" not in requests.post(url, data=form, verify=emu.ca_path).json()
    emu.token_lifetime = 7200
    body = requests.post(url, data=form, verify=emu.ca_path).json()
    assert body["refresh_in"] == 3600 and body["expires_in"] == body["ext_expires_in"] == 7200
