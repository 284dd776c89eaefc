"""A token never leaves for a host it is not for: poller URLs, plain http, other sites, other vaults.

Each case sends through the real SDK/azure-core pipeline; the journal proves the request
never reached the emulator (so nothing went out), and the error names the host.
"""

from __future__ import annotations

import pytest
from azure.core.rest import HttpRequest

from airflow_provider_appservice.errors import TokenPinningError
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.transport.scm import build_scm_client

from .identities import setup_identity


@pytest.fixture
def hook(world, monkeypatch, use_conn):
    return AppServiceHook(
        azure_app_service_conn_id=use_conn("appsvc", setup_identity(world, "service_principal_secret", monkeypatch))
    )


def hosts_reached(emu, mark: int) -> set[str]:
    return {r.host for r in emu.requests[mark:]}


@pytest.mark.parametrize(
    "url_of",
    [
        lambda w: f"https://{w.site.scm_host_name}/api/settings",  # SCM is not ARM's host for the ARM client
        lambda w: f"https://{w.site.default_host_name}/",  # the app itself
        lambda w: "https://management.azure.com.evil.example/subscriptions",
        lambda w: "https://management.azure.com:8443/subscriptions",
    ],
    ids=["scm-host", "app-host", "lookalike", "other-port"],
)
def test_arm_client_refuses_foreign_absolute_urls(world, hook, url_of):
    client = hook.get_conn()
    mark = len(world.emu.requests)
    with pytest.raises(TokenPinningError, match="not sent"):
        client._client.send_request(HttpRequest("GET", url_of(world)))
    assert not {h for h in hosts_reached(world.emu, mark) if h != "login.microsoftonline.com"}


def test_arm_token_never_goes_over_plain_http(world, hook):
    client = hook.get_conn()
    mark = len(world.emu.requests)
    with pytest.raises(Exception) as info:
        client._client.send_request(HttpRequest("GET", "http://management.azure.com/subscriptions"))
    assert "https" in str(info.value) or "non-TLS" in str(info.value)
    assert all(r.audience is None for r in world.emu.requests[mark:])


def test_scm_client_is_pinned_to_its_own_scm_host(world, hook):
    other = world.emu.add_site(world.subscription_id, world.resource_group, "other")
    scm = build_scm_client(hook.identity, hook.get_credential(), world.site.scm_host_name, hook.clock)
    mark = len(world.emu.requests)
    for url in (
        f"http://{world.site.scm_host_name}:80/api/deployments/latest",  # Linux Kudu's poll Location
        f"https://{other.scm_host_name}/api/deployments/latest",
        "https://management.azure.com/subscriptions",
    ):
        with pytest.raises(Exception) as info:
            scm.send_request(HttpRequest("GET", url))
        assert "not sent" in str(info.value) or "non-TLS" in str(info.value), str(info.value)
    assert all(r.audience is None for r in world.emu.requests[mark:])
    response = scm.send_request(HttpRequest("GET", scm.format_url("/api/settings")))
    assert response.status_code < 500  # reached its own SCM host with the App Service token (RBAC may say no)
    last = world.emu.requests[-1]
    assert last.host == world.site.scm_host_name and last.audience == "https://appservice.azure.com"


def test_vault_token_is_pinned_to_its_vault(world, monkeypatch, use_conn):
    from azure.core.rest import HttpRequest as Req

    fields = setup_identity(world, "key_vault_service_principal", monkeypatch, "secret")
    hook = AppServiceHook(azure_app_service_conn_id=use_conn("kv", fields))
    hook.get_arm_token()  # bootstrap reads the secret through the pinned vault client
    vault_url = fields["extra"]["key_vault_url"]
    other_vault = world.emu.add_vault(world.tenant, "kvother" + world.subscription_id[:6])
    from azure.keyvault.secrets import SecretClient

    from airflow_provider_appservice.identity.keyvault import _client_kwargs

    client = SecretClient(vault_url, hook.get_credential(), **_client_kwargs(hook.identity))
    mark = len(world.emu.requests)
    with pytest.raises(TokenPinningError):
        client._client.send_request(Req("GET", f"{other_vault}/secrets/x/?api-version=2025-07-01"))
    assert not [r for r in world.emu.requests[mark:] if r.audience == "https://vault.azure.net"]


@pytest.mark.parametrize(
    ("cloud", "scope"),
    [
        ("public", "https://appservice.azure.com/.default"),
        ("china", "https://management.core.chinacloudapi.cn/.default"),
        ("usgovernment", "https://management.core.usgovcloudapi.net/.default"),
    ],
)
def test_kudu_gets_the_audience_az_uses_in_each_cloud(cloud, scope):
    """azure-apis.md §11: App Service in public, the classic management resource in China and US Gov."""
    from airflow_provider_appservice.identity.clouds import CLOUDS

    assert CLOUDS[cloud].scm_scope == scope
    assert CLOUDS[cloud].scm_scope != CLOUDS[cloud].arm_scope or cloud == "usgovernment"


def test_kudu_accepts_app_service_and_arm_tokens_and_refuses_others(world, hook):
    """As real Kudu: a token for App Service or ARM of the site's tenant; anything else is a 401."""
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy

    from airflow_provider_appservice.wire.tls import resolve_verify

    contributor = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(contributor, "Website Contributor", world.site.id)
    from azure.identity import ClientSecretCredential

    credential = ClientSecretCredential(
        world.tenant.tenant_id,
        contributor.client_id,
        contributor.secret,
        connection_verify=resolve_verify(world.emu.ca_path),
    )
    answers = {}
    for audience in (
        "https://appservice.azure.com",
        "https://management.azure.com",
        "https://management.core.windows.net/",
        "https://vault.azure.net",
        "https://graph.microsoft.com",
    ):
        client = PipelineClient(
            base_url=f"https://{world.site.scm_host_name}",
            policies=[BearerTokenCredentialPolicy(credential, f"{audience.rstrip('/')}/.default")],
            connection_verify=resolve_verify(world.emu.ca_path),
        )
        answers[audience] = client.send_request(HttpRequest("GET", client.format_url("/api/deployments"))).status_code
    assert answers == {
        "https://appservice.azure.com": 200,
        "https://management.azure.com": 200,
        "https://management.core.windows.net/": 200,
        "https://vault.azure.net": 401,
        "https://graph.microsoft.com": 401,
    }


def test_the_arm_token_never_goes_to_a_kudu_host(world, hook):
    """The SCM pipeline asks for the App Service token; ARM's stays with ARM."""
    scm = build_scm_client(hook.identity, hook.get_credential(), world.site.scm_host_name, hook.clock)
    mark = len(world.emu.requests)
    scm.send_request(HttpRequest("GET", scm.format_url("/api/settings")))
    hook.get_conn().web_apps.get(world.resource_group, "shop")
    sent = [r for r in world.emu.requests[mark:] if r.bearer]
    assert {(r.kind, r.audience) for r in sent} == {
        ("scm", "https://appservice.azure.com"),
        ("arm", "https://management.azure.com"),
    }
