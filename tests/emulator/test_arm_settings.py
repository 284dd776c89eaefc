"""App settings, connection strings, sticky names, Key Vault reference status (resolved by the
app's own identity), site config and a crash-looping container, with the real SDK clients."""

from __future__ import annotations

import asyncio

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from azure.mgmt.web.models import SiteConfigResource, SlotConfigNamesResource, StringDictionary

from .scenarios import make_scenario


# -- app settings and connection strings ----------------------------------------------------------
def test_app_settings_list_and_replace(emu):
    sc = make_scenario(emu)
    emu.set_app_settings(sc.site, {"A": "1", "B": "2"})
    apps = sc.sync_client().web_apps
    listed = apps.list_application_settings("rg", "app")
    assert listed.properties == {"A": "1", "B": "2"}
    assert listed.name == "appsettings" and listed.type == "Microsoft.Web/sites/config"
    assert listed.id == f"{sc.site.id}/config/appsettings"
    list_call = [r for r in emu.requests if r.path.endswith("/config/appsettings/list")]
    assert [(r.method, r.status) for r in list_call] == [("POST", 200)]

    written = apps.update_application_settings("rg", "app", StringDictionary(properties={"C": "3"}))
    assert written.properties == {"C": "3"}  # PUT replaces everything
    assert emu.app_settings(sc.site) == {"C": "3"}
    apps.update_application_settings_slot("rg", "app", "staging", {"properties": {"S": "x"}})
    slot = apps.list_application_settings_slot("rg", "app", "staging")
    assert slot.properties == {"S": "x"} and slot.type == "Microsoft.Web/sites/slots/config"
    assert emu.app_settings(sc.site) == {"C": "3"}


def test_app_settings_aio(emu):
    sc = make_scenario(emu)

    async def main() -> dict[str, str]:
        async with sc.aio_client() as client:
            await client.web_apps.update_application_settings("rg", "app", {"properties": {"K": "v"}})
            return (await client.web_apps.list_application_settings("rg", "app")).properties

    assert asyncio.run(main()) == {"K": "v"}


def test_connection_strings_list_and_replace(emu):
    sc = make_scenario(emu)
    apps = sc.sync_client().web_apps
    assert apps.list_connection_strings("rg", "app").properties == {}
    body = {"properties": {"db": {"value": "Server=x", "type": "SQLAzure"}, "other": {"value": "y", "type": "custom"}}}
    written = apps.update_connection_strings("rg", "app", body)
    assert written.properties["db"].type == "SQLAzure" and written.properties["other"].type == "Custom"
    apps.update_connection_strings_slot("rg", "app", "staging", {"properties": {"q": {"value": "z", "type": "Custom"}}})
    assert set(apps.list_connection_strings_slot("rg", "app", "staging").properties) == {"q"}
    with pytest.raises(HttpResponseError) as info:
        apps.update_connection_strings("rg", "app", {"properties": {"db": {"value": "x", "type": "Oracle"}}})
    assert info.value.status_code == 400 and info.value.response.json()["Code"] == "BadRequest"
    assert set(emu.connection_strings(sc.site)) == {"db", "other"}


def test_sticky_names_are_null_then_lists(emu):
    sc = make_scenario(emu)
    apps = sc.sync_client().web_apps
    names = apps.list_slot_configuration_names("rg", "app")
    assert names.app_setting_names is None and names.connection_string_names is None
    assert names.name == "app" and names.id is None and names.type == "Microsoft.Web/sites"
    updated = apps.update_slot_configuration_names("rg", "app", SlotConfigNamesResource(app_setting_names=["ENV"]))
    assert updated.app_setting_names == ["ENV"] and updated.connection_string_names == []
    assert updated.azure_storage_config_names == []
    assert emu.slot_config_names(sc.slot)["appSettingNames"] == ["ENV"]  # site-wide, also for slots


@pytest.mark.parametrize(
    ("call", "action"),
    [
        (lambda a: a.list_application_settings("rg", "app"), "Microsoft.Web/sites/config/list/action"),
        (
            lambda a: a.list_connection_strings_slot("rg", "app", "staging"),
            "Microsoft.Web/sites/slots/config/list/action",
        ),
        (lambda a: a.update_application_settings("rg", "app", {"properties": {}}), "Microsoft.Web/sites/config/write"),
        (
            lambda a: a.update_configuration_slot("rg", "app", "staging", {"properties": {}}),
            "Microsoft.Web/sites/slots/config/write",
        ),
    ],
)
def test_reader_may_not_list_or_write_settings(emu, call, action):
    sc = make_scenario(emu, role="Reader")
    emu.set_app_settings(sc.site, {"SECRET": "s"})
    with pytest.raises(HttpResponseError) as info:
        call(sc.sync_client().web_apps)
    assert info.value.status_code == 403 and info.value.error.code == "AuthorizationFailed"
    assert f"'{action}'" in info.value.error.message


def test_reader_may_read_config_and_sticky_names(emu):
    sc = make_scenario(emu, role="Reader")
    apps = sc.sync_client().web_apps
    assert apps.get_configuration("rg", "app").number_of_workers == 1
    assert apps.list_slot_configuration_names("rg", "app").app_setting_names is None


# -- Key Vault references --------------------------------------------------------------------------
def test_key_vault_references_resolve_with_the_apps_identity(emu):
    sc = make_scenario(emu)
    vault = emu.add_vault(sc.tenant, f"kv{sc.subscription_id[:8]}")
    emu.set_secret(vault, "db-password", "p1")
    version = emu.set_secret(vault, "db-password", "p2")
    emu.set_secret(vault, "airflow-only", "a")
    identity = emu.enable_site_identity(sc.site)
    vault_id = emu.world.vault_for_url(vault).resource_id
    emu.assign_role(identity, "Key Vault Secrets User", f"{vault_id}/secrets/db-password")
    emu.assign_role(sc.principal, "Key Vault Secrets User", vault_id)  # Airflow may read everything
    host = vault.removeprefix("https://")
    name = host.split(".")[0]
    emu.set_app_settings(
        sc.site,
        {
            "PLAIN": "x",
            "DB": f"@Microsoft.KeyVault(SecretUri={vault}/secrets/db-password/)",
            "DB_V": f"@Microsoft.KeyVault(VaultName={name};SecretName=db-password;SecretVersion={version})",
            "DB_OLD": f"@Microsoft.KeyVault(SecretUri={vault}/secrets/db-password/{'0' * 32})",
            "AIRFLOW_ONLY": f"@Microsoft.KeyVault(SecretUri={vault}/secrets/airflow-only)",
            "MISSING": f"@Microsoft.KeyVault(VaultName={name};SecretName=nope)",
            "NO_VAULT": "@Microsoft.KeyVault(SecretUri=https://novault.vault.azure.net/secrets/x)",
            "BAD": "@Microsoft.KeyVault(SecretName=only)",
        },
    )
    apps = sc.sync_client().web_apps
    first = {r.name: r.properties.status for r in apps.get_app_settings_key_vault_references("rg", "app")}
    assert set(first) == {"DB", "DB_V", "DB_OLD", "AIRFLOW_ONLY", "MISSING", "NO_VAULT", "BAD"}
    assert set(first.values()) == {"Initialized"}  # kv_reference_resolution_polls = 1
    refs = {r.name: r for r in apps.get_app_settings_key_vault_references("rg", "app")}
    assert {k: r.properties.status for k, r in refs.items()} == {
        "DB": "Resolved",
        "DB_V": "Resolved",
        "DB_OLD": "SecretVersionNotFound",
        "AIRFLOW_ONLY": "AccessToKeyVaultDenied",
        "MISSING": "AccessToKeyVaultDenied",  # the app may read only db-password: no 404 for it
        "NO_VAULT": "VaultNotFound",
        "BAD": "InvalidSyntax",
    }
    db = refs["DB"].properties
    assert db.vault_name == name and db.secret_name == "db-password" and db.active_version == version
    assert db.identity_type.type == "SystemAssigned" and db.source == "KeyVault"
    assert refs["DB"].id == f"{sc.site.id}/config/configreferences/appsettings/DB"
    # Airflow's own identity can read what the app cannot: the status is about the app.
    secrets = SecretClient(vault, sc.credential(), connection_verify=emu.ca_path)
    assert secrets.get_secret("airflow-only").value == "a"

    one = apps.get_app_setting_key_vault_reference("rg", "app", "AIRFLOW_ONLY")
    assert one.properties.status == "AccessToKeyVaultDenied" and one.properties.details
    with pytest.raises(ResourceNotFoundError):
        apps.get_app_setting_key_vault_reference("rg", "app", "PLAIN")
    emu.assign_role(identity, "Key Vault Secrets User", vault_id)
    assert apps.get_app_setting_key_vault_reference("rg", "app", "AIRFLOW_ONLY").properties.status == "Resolved"
    assert apps.get_app_setting_key_vault_reference("rg", "app", "MISSING").properties.status == "SecretNotFound"


def test_key_vault_references_without_an_identity_and_by_user_assigned(emu):
    sc = make_scenario(emu)
    emu.kv_reference_resolution_polls = 0
    vault = emu.add_vault(sc.tenant, f"kw{sc.subscription_id[:8]}")
    emu.set_secret(vault, "s", "v")
    ref = f"@Microsoft.KeyVault(SecretUri={vault}/secrets/s)"
    emu.set_app_settings(sc.slot, {"S": ref})
    apps = sc.sync_client().web_apps
    [status] = apps.get_app_settings_key_vault_references_slot("rg", "app", "staging")
    assert status.properties.status == "MSINotEnabled"
    uami = emu.add_managed_identity(sc.tenant, user_assigned=True)
    emu.assign_role(uami, "Key Vault Secrets User", vault)
    emu.assign_site_identity(sc.slot, uami, for_key_vault_references=True)
    one = apps.get_app_setting_key_vault_reference_slot("rg", "app", "S", "staging")
    assert one.properties.status == "Resolved" and one.properties.identity_type.type == "UserAssigned"
    slot = apps.get_slot("rg", "app", "staging")
    assert slot.key_vault_reference_identity == uami.resource_id
    assert uami.resource_id in slot.identity.user_assigned_identities


def test_key_vault_reference_resolution_on_the_clock(emu):
    sc = make_scenario(emu)
    emu.kv_reference_resolution_polls = None
    emu.kv_reference_resolution_seconds = 30
    emu.set_app_settings(sc.site, {"X": "@Microsoft.KeyVault(SecretUri=https://nowhere.vault.azure.net/secrets/x)"})
    apps = sc.sync_client().web_apps
    assert apps.get_app_setting_key_vault_reference("rg", "app", "X").properties.status == "Initialized"
    emu.advance(31)
    assert apps.get_app_setting_key_vault_reference("rg", "app", "X").properties.status == "VaultNotFound"


# -- site config and the container ---------------------------------------------------------------
def test_config_web_patch_merges_and_put_replaces(emu):
    sc = make_scenario(emu)
    apps = sc.sync_client().web_apps
    config = apps.get_configuration("rg", "app")
    assert config.name == "app" and config.linux_fx_version == "" and config.always_on is True
    assert config.type == apps.get_configuration_slot("rg", "app", "staging").type == "Microsoft.Web/sites/config"
    apps.update_configuration("rg", "app", SiteConfigResource(linux_fx_version="DOCKER|nginx:1.27"))
    merged = apps.update_configuration("rg", "app", SiteConfigResource(health_check_path="/healthz"))
    assert merged.linux_fx_version == "DOCKER|nginx:1.27" and merged.health_check_path == "/healthz"
    assert apps.get("rg", "app").site_config.linux_fx_version == "DOCKER|nginx:1.27"
    replaced = apps.create_or_update_configuration("rg", "app", {"properties": {"acrUseManagedIdentityCreds": True}})
    assert replaced.acr_use_managed_identity_creds is True and replaced.linux_fx_version == ""
    assert replaced.health_check_path is None
    apps.update_configuration_slot("rg", "app", "staging", {"properties": {"windowsFxVersion": "DOCKER|app:w"}})
    assert apps.get_configuration_slot("rg", "app", "staging").windows_fx_version == "DOCKER|app:w"
    assert [r.method for r in emu.requests if r.path.endswith("/config/web")] == ["GET", "GET", "PATCH", "PATCH", "PUT",
                                                                                  "PATCH", "GET"]  # fmt: skip


def test_a_crash_looping_container_keeps_the_admin_state_running(emu):
    sc = make_scenario(emu)
    emu.set_image_behaviour("myacr.azurecr.io/app:bad", "crashloop")
    apps = sc.sync_client().web_apps
    url = f"https://{sc.site.default_host_name}/"
    apps.update_configuration("rg", "app", {"properties": {"linuxFxVersion": "DOCKER|myacr.azurecr.io/app:bad"}})
    assert apps.get("rg", "app").state == "Running"
    page = requests.get(url, verify=emu.ca_path, timeout=10)
    assert page.status_code == 503 and "Application Error" in page.text
    assert emu.runtime_status(sc.site) == "CrashLooping"
    apps.restart("rg", "app")
    assert requests.get(url, verify=emu.ca_path, timeout=10).status_code == 503
    apps.update_configuration("rg", "app", {"properties": {"linuxFxVersion": "DOCKER|myacr.azurecr.io/app:good"}})
    emu.set_build(sc.site, "b42")
    page = requests.get(url, verify=emu.ca_path, timeout=10)
    assert page.status_code == 200 and "build: b42" in page.text and "image: myacr.azurecr.io/app:good" in page.text
    emu.set_runtime_behaviour(sc.site, "crashloop")
    assert requests.get(url, verify=emu.ca_path, timeout=10).status_code == 503
    emu.set_runtime_behaviour(sc.site, None)
    assert emu.runtime_status(sc.site) == "Ready"
