"""The real Azure CLI (2.91, unpatched, build/azcli) against the emulator: each command's exit
code and output, and what the emulator then holds (builds per slot, settings, restarts)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

UPDATE_CHECK_HOSTS = {"azcliprod.blob.core.windows.net"}  # az's "newer version" check; the proxy refuses it


def _zip(path: Path, build: str, filler_bytes: int = 0) -> str:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("BUILD", build)
        archive.writestr("app.py", "print('hello')\n")
        if filler_bytes:
            archive.writestr("filler.bin", b"\0" * filler_bytes)
    return str(path)


def test_login_with_a_certificate_and_account_show(conformance):
    c, sp = conformance, conformance.cert_principal
    out = c.az("login", "--service-principal", "-u", sp.client_id, "--certificate", sp.certificate_path,
               "--tenant", c.tenant.tenant_id).ok()  # fmt: skip
    assert [s["id"] for s in out.result] == [c.subscription_id]
    account = c.az("account", "show").ok().result
    assert account["id"] == c.subscription_id and account["tenantId"] == c.tenant.tenant_id
    assert account["user"] == {"name": sp.client_id, "type": "servicePrincipal"}
    assert [r.status for r in c.journal("/subscriptions", "GET")][-1:] == [200]


def test_webapp_list_and_show_read_the_publish_profile(conformance):
    c = conformance
    site = c.app("show")
    names = [s["name"] for s in c.az("webapp", "list", "-g", "rg").ok().result]
    assert site.name in names
    shown = c.az("webapp", "show", "-g", "rg", "-n", site.name).ok().result
    assert shown["defaultHostName"] == site.default_host_name and shown["state"] == "Running"
    # az reads the publish profile to add ftpPublishingUrl (which its output then drops)
    assert [r.status for r in c.journal(f"{site.name}/publishxml", "POST")] == [200]
    slots = c.az("webapp", "deployment", "slot", "list", "-g", "rg", "-n", site.name).ok().result
    assert [s["name"] for s in slots] == ["staging"]


def test_webapp_deploy_with_basic_auth_disallowed(conformance, tmp_path):
    c = conformance
    site = c.app("deploy")
    base = ("webapp", "deploy", "-g", "rg", "-n", site.name, "--type", "zip")
    c.az(*base, "--src-path", _zip(tmp_path / "a.zip", "small-1")).ok()
    assert c.emu.build_of(site) == "small-1" and c.emu.build_of(site.slots["staging"]) == "initial"
    c.az(*base, "--src-path", _zip(tmp_path / "b.zip", "staged-2"), "--slot", "staging").ok()
    assert c.emu.build_of(site.slots["staging"]) == "staged-2" and c.emu.build_of(site) == "small-1"
    c.az(*base, "--src-path", _zip(tmp_path / "c.zip", "big-3", 64 * 1024 * 1024)).ok()
    assert c.emu.build_of(site) == "big-3"
    c.az(*base, "--src-path", _zip(tmp_path / "d.zip", "async-4"), "--async", "true").ok()
    assert c.emu.build_of(site) == "async-4"
    # No basic auth: az read the policy, then sent Entra tokens to Kudu, never the credentials.
    assert c.journal(f"{site.name}/basicPublishingCredentialsPolicies/scm", "GET")
    assert not c.journal(f"{site.name}/config/publishingcredentials/list")
    kudu = [r for r in c.emu.requests if r.kind == "scm" and r.host == site.scm_host_name and r.method == "POST"]
    assert len(kudu) == 3 and all(r.bearer and r.status < 300 for r in kudu)


def test_webapp_deploy_with_basic_auth_allowed(conformance, tmp_path):
    c = conformance
    site = c.app("basic")
    site.basic_auth_enabled = True
    c.az("webapp", "deploy", "-g", "rg", "-n", site.name, "--type", "zip",
         "--src-path", _zip(tmp_path / "a.zip", "basic-1")).ok()  # fmt: skip
    assert c.emu.build_of(site) == "basic-1"
    assert [r.status for r in c.journal(f"{site.name}/config/publishingcredentials/list", "POST")] == [200]
    posts = [r for r in c.emu.requests if r.kind == "scm" and r.host == site.scm_host_name and r.method == "POST"]
    assert posts and not any(r.bearer for r in posts)


def test_slot_swap_plain_preview_then_swap_and_preview_then_reset(conformance):
    c = conformance
    site = c.app("swap")
    slot = site.slots["staging"]
    c.emu.set_build(site, "v1")
    c.emu.set_build(slot, "v2")
    c.emu.app_settings(site)  # seeded below through az, sticky
    swap = ("webapp", "deployment", "slot", "swap", "-g", "rg", "-n", site.name, "--slot", "staging")
    c.az("webapp", "config", "appsettings", "set", "-g", "rg", "-n", site.name, "--slot-settings", "ENV=prod").ok()
    c.az("webapp", "config", "appsettings", "set", "-g", "rg", "-n", site.name, "--slot", "staging",
         "--slot-settings", "ENV=staging").ok()  # fmt: skip

    c.az(*swap).ok()
    assert (c.emu.build_of(site), c.emu.build_of(slot)) == ("v2", "v1")
    polls = c.journal("/operationresults/" + c.journal("/slotsswap")[-1].path.rsplit("/", 1)[-1])
    assert not polls or all(r.status in (200, 202) for r in polls)

    c.az(*swap, "--action", "preview").ok()
    assert c.emu.app_settings(slot)["ENV"] == "prod" and c.emu.preview_state(site)["source"] == "staging"
    c.az(*swap, "--action", "swap").ok()
    assert (c.emu.build_of(site), c.emu.build_of(slot)) == ("v1", "v2") and c.emu.preview_state(site) is None
    assert c.emu.app_settings(site)["ENV"] == "prod" and c.emu.app_settings(slot)["ENV"] == "staging"

    for reset in (("--action", "reset"), ("--action", "reset", "--target-slot", "production")):
        c.az(*swap, "--action", "preview").ok()
        assert c.emu.preview_state(site) is not None
        c.az(*swap, *reset).ok()
        assert c.emu.preview_state(site) is None, reset
        assert c.emu.app_settings(slot)["ENV"] == "staging"
        assert (c.emu.build_of(site), c.emu.build_of(slot)) == ("v1", "v2")
    assert [r.status for r in c.journal("/slots/production/resetSlotConfig")] == [200]


@pytest.mark.parametrize("slot", [None, "staging"])
def test_restart_stop_start(conformance, slot):
    c = conformance
    site = c.app("life")
    target = site.slots["staging"] if slot else site
    where = ("-g", "rg", "-n", site.name, *(("--slot", slot) if slot else ()))
    c.az("webapp", "restart", *where).ok()
    assert c.emu.restarts(target) == 1 and c.emu.site_state(target) == "Running"
    c.az("webapp", "stop", *where).ok()
    assert c.emu.site_state(target) == "Stopped"
    assert c.az("webapp", "show", *where).ok().result["state"] == "Stopped"
    c.az("webapp", "start", *where).ok()
    assert c.emu.site_state(target) == "Running" and c.emu.restarts(target) == 1
    other = site if slot else site.slots["staging"]
    assert c.emu.restarts(other) == 0 and c.emu.site_state(other) == "Running"


def test_appsettings_set_list_delete_sticky_and_key_vault_reference(conformance):
    c = conformance
    site = c.app("settings")
    where = ("-g", "rg", "-n", site.name)
    reference = "@Microsoft.KeyVault(SecretUri=https://kv-conf.vault.azure.net/secrets/db/)"
    c.az("webapp", "config", "appsettings", "set", *where, "--settings", "A=1", "B=2", f"DB={reference}").ok()
    c.az("webapp", "config", "appsettings", "set", *where, "--slot-settings", "ENV=prod").ok()
    listed = {s["name"]: s for s in c.az("webapp", "config", "appsettings", "list", *where).ok().result}
    assert {k: v["value"] for k, v in listed.items()} == {"A": "1", "B": "2", "DB": reference, "ENV": "prod"}
    assert listed["ENV"]["slotSetting"] is True and listed["A"]["slotSetting"] is False
    assert c.emu.slot_config_names(site)["appSettingNames"] == ["ENV"]
    c.az("webapp", "config", "appsettings", "delete", *where, "--setting-names", "B").ok()
    assert c.emu.app_settings(site) == {"A": "1", "DB": reference, "ENV": "prod"}
    assert c.emu.app_settings(site.slots["staging"]) == {}


def test_config_container_set(conformance):
    c = conformance
    site = c.app("container")
    c.az("webapp", "config", "container", "set", "-g", "rg", "-n", site.name,
         "--container-image-name", "nginx:1.27").ok()  # fmt: skip
    assert c.emu.site_config(site)["linuxFxVersion"] == "DOCKER|nginx:1.27"


def test_functionapp_show_and_restart(conformance):
    c = conformance
    fn = c.app("fn", kind="functionapp,linux", slot=False)
    shown = c.az("functionapp", "show", "-g", "rg", "-n", fn.name).ok().result
    assert shown["kind"] == "functionapp,linux" and shown["name"] == fn.name
    c.az("functionapp", "restart", "-g", "rg", "-n", fn.name).ok()
    assert c.emu.restarts(fn) == 1


def test_create_and_tear_down_as_on_azure(conformance):
    c = conformance
    name = f"made-{c.app('seed', slot=False).name[-8:]}"
    c.az("group", "create", "-n", "rg-made", "-l", "westeurope").ok()
    plan = c.az("appservice", "plan", "create", "-g", "rg-made", "-n", "plan-made", "--sku", "P1v3",
                "--is-linux").ok().result  # fmt: skip
    assert plan["sku"]["name"].lower() == "p1v3" and plan["reserved"] is True
    made = c.az("webapp", "create", "-g", "rg-made", "-p", "plan-made", "-n", name, "-i", "nginx:latest").ok().result
    assert made["defaultHostName"] == f"{name}.azurewebsites.net" and made["serverFarmId"].endswith("/plan-made")
    c.az("webapp", "deployment", "slot", "create", "-g", "rg-made", "-n", name, "--slot", "staging").ok()
    site = c.emu.world.find_site(made["id"])
    assert site is not None and set(site.slots) == {"staging"}
    assert c.emu.site_config(site)["linuxFxVersion"] == "DOCKER|nginx:latest"
    c.az("webapp", "delete", "-g", "rg-made", "-n", name).ok()
    assert c.emu.world.find_site(made["id"]) is None
    assert c.az("webapp", "show", "-g", "rg-made", "-n", name).code != 0


def test_the_proxy_saw_no_host_the_emulator_does_not_serve(conformance):
    c = conformance
    c.az("webapp", "list").ok()
    refused = {r.host for r in c.emu.requests if r.kind == "proxy-refused"}
    assert refused <= UPDATE_CHECK_HOSTS, refused
    assert not [r for r in c.emu.requests if r.kind == "unknown"]
    assert not [r for r in c.emu.requests if r.kind == "arm" and r.status == 404 and "InvalidResourceType" in r.path]
