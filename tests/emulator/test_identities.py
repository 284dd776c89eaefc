"""Every identity kind gets a token from the emulated Entra / managed identity endpoints and
reads a site and its slot through the real azure-mgmt-web client, sync and aio, under public,
regional and China-cloud host names."""

from __future__ import annotations

import asyncio

import pytest

from .scenarios import IDENTITY_KINDS, make_scenario

HOSTS = ["public", "regional", "china"]
# Which emulated endpoints each identity kind must have used to get its token.
TOKEN_ROUTES = {
    "secret": {"discovery", "token"},
    "certificate": {"discovery", "token"},
    "msi": {"msi"},
    "msi_user": {"msi"},
    "imds": {"imds"},
    "workload": {"token"},
    "federated": {"msi", "token"},
    "federated_xtenant": {"msi", "token"},
}


def _expected_hosts(sc):
    return sc.site.default_host_name, sc.site.scm_host_name


@pytest.mark.parametrize("hosts", HOSTS)
@pytest.mark.parametrize("kind", IDENTITY_KINDS)
def test_sync_client_reads_site_and_slot(emu, kind, hosts):
    sc = make_scenario(emu, kind, cloud="china" if hosts == "china" else "public", regional=hosts == "regional")
    with sc.environment():
        client = sc.sync_client()
        site = client.web_apps.get("rg", "app")
        slot = client.web_apps.get_slot("rg", "app", "staging")
    assert site.name == "app" and site.state == "Running"
    assert (site.default_host_name, _scm(site)) == _expected_hosts(sc)
    assert slot.name == "app/staging"
    assert slot.default_host_name == sc.slot.default_host_name
    if hosts == "regional":
        assert ".westeurope-01.azurewebsites.net" in site.default_host_name
    if hosts == "china":
        assert site.default_host_name.endswith(".chinacloudsites.cn")
    arm_calls = [r for r in emu.requests if r.kind == "arm"]
    assert [r.status for r in arm_calls] == [200, 200]
    assert {r.client_id for r in arm_calls} == {sc.principal.client_id}
    assert emu.token_requests(audience=sc.arm, client_id=sc.principal.client_id) == 1
    assert {r.kind for r in emu.requests if r.kind != "arm"} == TOKEN_ROUTES[kind]


@pytest.mark.parametrize("hosts", HOSTS)
@pytest.mark.parametrize("kind", IDENTITY_KINDS)
def test_aio_client_reads_site_and_slot(emu, kind, hosts):
    sc = make_scenario(emu, kind, cloud="china" if hosts == "china" else "public", regional=hosts == "regional")

    async def read():
        client = sc.aio_client()
        async with client:
            site = await client.web_apps.get("rg", "app")
            slot = await client.web_apps.get_slot("rg", "app", "staging")
        await client._config.credential.close()
        return site, slot

    with sc.environment():
        site, slot = asyncio.run(read())
    assert (site.default_host_name, _scm(site)) == _expected_hosts(sc)
    assert slot.name == "app/staging"
    assert emu.token_requests(audience=sc.arm, client_id=sc.principal.client_id) == 1
    assert {r.kind for r in emu.requests if r.kind != "arm"} == TOKEN_ROUTES[kind] - {"discovery"}


def _scm(site):
    return next(h.name for h in site.host_name_ssl_states if h.host_type == "Repository")


def test_managed_identity_request_forms(emu):
    """App Service form answers expires_on, IMDS answers expires_in; both need their header."""
    import requests

    t = emu.add_tenant()
    mi = emu.add_managed_identity(t)
    base = f"http://127.0.0.1:{emu.http_port}"
    q = {"resource": "https://management.azure.com", "api-version": "2019-08-01"}
    s = requests.Session()
    s.trust_env = False
    assert s.get(f"{base}/msi/token", params=q).status_code == 401
    body = s.get(f"{base}/msi/token", params=q, headers={"X-IDENTITY-HEADER": emu.identity_header}).json()
    assert body["client_id"] == mi.client_id and int(body["expires_on"]) > 0 and "expires_in" not in body
    imds = f"{base}/metadata/identity/oauth2/token"
    assert s.get(imds, params=q).status_code == 400
    body = s.get(imds, params=q, headers={"Metadata": "true"}).json()
    assert body["expires_in"] == str(emu.token_lifetime)
    unknown = s.get(
        imds, params={**q, "client_id": "00000000-0000-0000-0000-000000000000"}, headers={"Metadata": "true"}
    )
    assert unknown.status_code == 400 and "Identity not found" in unknown.text
    assert emu.token_requests() == 2


@pytest.mark.parametrize("kind", ["secret", "certificate", "msi", "federated"])
def test_us_government_cloud(emu, kind):
    sc = make_scenario(emu, kind, cloud="usgovernment")
    with sc.environment():
        site = sc.sync_client().web_apps.get("rg", "app")
    assert site.default_host_name == "app.azurewebsites.us"
    assert {r.host for r in emu.requests if r.bearer} == {"management.usgovcloudapi.net"}
