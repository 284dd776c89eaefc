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
