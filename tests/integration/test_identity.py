"""Every auth type gets a token from the emulator through the real SDK and reads a site."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_provider_appservice.errors import AuthenticationFailed, ConnectionConfigError
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.identity.tokens import LEDGER
from airflow_provider_appservice.operations.sites import get_site

from .identities import AUTH_CASES, setup_identity, vault_host_of

ARM = "https://management.azure.com"
VAULT = "https://vault.azure.net"


@pytest.mark.parametrize(("auth_type", "variant"), AUTH_CASES, ids=[f"{a}-{v}" if v else a for a, v in AUTH_CASES])
def test_each_auth_type_reads_a_site_sync_and_async(world, monkeypatch, use_conn, auth_type, variant):
    mark = len(world.emu.requests)
    conn_id = use_conn("appsvc", setup_identity(world, auth_type, monkeypatch, variant))
    hook = AppServiceHook(azure_app_service_conn_id=conn_id)

    site = get_site(hook.get_conn(), world.resource_group, "shop")
    assert site.default_host_name == world.site.default_host_name
    assert site.scm_host_name == world.site.scm_host_name

    async def read_async() -> str:
        hook = AppServiceHook(azure_app_service_conn_id=conn_id)
        async with hook.shared_arm_client() as client, hook.shared_arm_client() as same:
            assert same is client and AppServiceHook.shared_client_count() == 1
            slot = await client.web_apps.get_slot(world.resource_group, "shop", "staging")
        assert AppServiceHook.shared_client_count() == 0
        return slot.name

    assert asyncio.run(read_async()) == "shop/staging"
    arm_hosts = {r.host for r in world.emu.requests[mark:] if r.audience and r.audience.startswith(ARM)}
    assert arm_hosts == {"management.azure.com"}, "the ARM token went only to ARM"
    if auth_type == "key_vault_service_principal":
        vault_host = vault_host_of(world)
        vault_hosts = {r.host for r in world.emu.requests[mark:] if r.audience == VAULT}
        assert vault_hosts == {vault_host}, "the vault token went only to its vault"


def test_one_token_request_per_identity_and_audience_under_repeated_use(world, monkeypatch, use_conn):
    conn_id = use_conn("appsvc", setup_identity(world, "service_principal_secret", monkeypatch))
    before = world.emu.token_requests(audience=ARM)
    for _ in range(5):
        hook = AppServiceHook(azure_app_service_conn_id=conn_id)  # new hook, same identity
        for _ in range(4):
            get_site(hook.get_conn(), world.resource_group, "shop")
    assert world.emu.token_requests(audience=ARM) - before == 1
    assert LEDGER.by_audience() == {ARM: 1}


def test_token_is_masked_the_moment_it_exists(world, monkeypatch, use_conn):
    from airflow.sdk._shared.secrets_masker import redact

    conn_id = use_conn("appsvc", setup_identity(world, "managed_identity", monkeypatch))
    token = AppServiceHook(azure_app_service_conn_id=conn_id).get_arm_token()
    assert token in world.emu.issued_tokens()
    assert token not in str(redact(f"Authorization: Bearer {token}"))


def test_token_refreshes_after_expiry(world, monkeypatch, use_conn):
    import time_machine

    world.emu.token_lifetime = 3600
    conn_id = use_conn("appsvc", setup_identity(world, "service_principal_secret", monkeypatch))
    hook = AppServiceHook(azure_app_service_conn_id=conn_id)
    get_site(hook.get_conn(), world.resource_group, "shop")
    first = world.emu.token_requests(audience=ARM)
    # time-machine moves time.time for the client and the emulator alike (both read it).
    with time_machine.travel(time.time() + 3700, tick=True):
        get_site(hook.get_conn(), world.resource_group, "shop")
    assert world.emu.token_requests(audience=ARM) == first + 1
    assert LEDGER.by_audience()[ARM] == 2


@pytest.mark.parametrize(
    ("cloud", "web_suffix", "arm_host", "authority"),
    [
        ("china", ".chinacloudsites.cn", "management.chinacloudapi.cn", "login.chinacloudapi.cn"),
        ("usgovernment", ".azurewebsites.us", "management.usgovcloudapi.net", "login.microsoftonline.us"),
    ],
)
def test_sovereign_clouds_use_their_own_hosts(emulator, use_conn, cloud, web_suffix, arm_host, authority):
    tenant = emulator.add_tenant(cloud=cloud)
    sub = emulator.add_subscription(tenant)
    site = emulator.add_site(sub, "rg-sov", "sovshop")
    sp = emulator.add_service_principal(tenant)
    emulator.assign_role(sp, "Reader", site.id)
    mark = len(emulator.requests)
    conn_id = use_conn(
        "sov",
        {
            "login": sp.client_id,
            "password": sp.secret,
            "extra": {
                "auth_type": "service_principal_secret",
                "tenant_id": tenant.tenant_id,
                "subscription_id": sub,
                "cloud": cloud,
                "ca_bundle": emulator.ca_path,
            },
        },
    )
    info = get_site(AppServiceHook(azure_app_service_conn_id=conn_id).get_conn(), "rg-sov", "sovshop")
    assert info.default_host_name.endswith(web_suffix)
    assert {r.host for r in emulator.requests[mark:] if r.client_id == sp.client_id} == {arm_host}
    assert authority in {r.host for r in emulator.requests[mark:]}, "the authority came from the cloud"
    assert "login.microsoftonline.com" not in {r.host for r in emulator.requests[mark:]}


def test_regional_host_names_come_from_arm(emulator, world, monkeypatch, use_conn):
    regional = emulator.add_site(world.subscription_id, world.resource_group, "regional", regional=True)
    conn_id = use_conn("appsvc", setup_identity(world, "managed_identity", monkeypatch))
    info = get_site(AppServiceHook(azure_app_service_conn_id=conn_id).get_conn(), world.resource_group, "regional")
    assert info.default_host_name == regional.default_host_name
    assert ".westeurope-01." in info.default_host_name
    assert info.scm_host_name == regional.scm_host_name


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda c: c.update(password="wrong-secret"), "AADSTS7000215"),
        (lambda c: c["extra"].update(tenant_id="00000000-0000-0000-0000-000000000000"), "does not know tenant"),
    ],
    ids=["wrong-secret", "wrong-tenant"],
)
def test_wrong_secret_or_tenant_fails_with_a_clear_reason(world, monkeypatch, use_conn, mutate, words):
    fields = setup_identity(world, "service_principal_secret", monkeypatch)
    mutate(fields)
    conn_id = use_conn("appsvc", fields)
    hook = AppServiceHook(azure_app_service_conn_id=conn_id)
    with pytest.raises(AuthenticationFailed) as info:
        hook.get_arm_token()
    message = str(info.value)
    assert words in message and "Check" in message
    assert "wrong-secret" not in message
    assert "\n" not in message
    ok, text = hook.test_connection()
    assert not ok and words in text


def test_bad_connection_fails_before_any_request(world, use_conn):
    count = len(world.emu.requests)
    conn_id = use_conn("bad", {"extra": {"auth_type": "service_principal_secret"}})
    with pytest.raises(ConnectionConfigError, match="tenant_id"):
        AppServiceHook(azure_app_service_conn_id=conn_id).get_conn()
    ok, text = AppServiceHook(azure_app_service_conn_id=conn_id).test_connection()
    assert not ok and "tenant_id" in text
    assert len(world.emu.requests) == count


def test_missing_role_is_a_403_naming_the_action(world, use_conn):
    sp = world.emu.add_service_principal(world.tenant)  # no role assignment
    fields = world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    conn_id = use_conn("norole", fields)
    hook = AppServiceHook(azure_app_service_conn_id=conn_id)
    from airflow_provider_appservice.errors import AzureRequestError

    with pytest.raises(AzureRequestError) as info:
        get_site(hook.get_conn(), world.resource_group, "shop")
    assert info.value.status == 403 and info.value.code == "AuthorizationFailed"
    assert "Microsoft.Web/sites/read" in str(info.value) and "Reader" in str(info.value)
    assert info.value.request_id
    ok, text = hook.test_connection()
    assert not ok and "AuthorizationFailed" in text and "403" in text


def test_connection_test_succeeds_and_counts_apps(world, monkeypatch, use_conn):
    conn_id = use_conn("appsvc", setup_identity(world, "managed_identity", monkeypatch))
    ok, text = AppServiceHook(azure_app_service_conn_id=conn_id).test_connection()
    assert ok, text
    assert "can read 1 app(s)" in text


@pytest.mark.parametrize(
    ("breakage", "status", "says"),
    [
        ("no-role", 403, "Key Vault Secrets User"),
        ("no-secret", 404, "key_vault_secret_name"),
    ],
)
def test_key_vault_bootstrap_refusals_are_permanent_and_name_the_fix(
    world, monkeypatch, use_conn, breakage, status, says
):
    """The bootstrap identity may not read the secret (403) or the secret is missing (404): a fix is
    needed, not a retry, on the sync and the async path alike."""
    from airflow_provider_appservice.errors import PermanentAzureError
    from airflow_provider_appservice.operations.sites import aget_site
    from airflow_provider_appservice.operators.base import APP_SERVICE_RETRY_POLICY

    fields = setup_identity(world, "key_vault_service_principal", monkeypatch)
    fields["extra"]["key_vault_secret_name"] = "missing-secret" if breakage == "no-secret" else "sp-credential"
    if breakage == "no-role":
        vault = fields["extra"]["key_vault_url"]
        bootstrap = world.emu.add_managed_identity(world.tenant)  # a new machine identity without the role
        world.emu.use_system_identity(bootstrap)
        assert vault
    conn_id = use_conn(f"kv_{breakage.replace('-', '_')}", fields)
    hook = AppServiceHook(azure_app_service_conn_id=conn_id)
    with pytest.raises(PermanentAzureError) as sync_info:
        get_site(hook.get_conn(), world.resource_group, "shop")

    async def read_async() -> None:
        async with hook.shared_arm_client() as client:
            await aget_site(client, world.resource_group, "shop")

    with pytest.raises(PermanentAzureError) as async_info:
        asyncio.run(read_async())
    for info in (sync_info, async_info):
        text = str(info.value)
        assert info.value.status == status and says in text and "Key Vault bootstrap" in text
        assert APP_SERVICE_RETRY_POLICY.evaluate(info.value, 1, 3).action.value == "fail"
