"""Create an identity of each auth type in the emulator and the connection fields that use it."""

from __future__ import annotations

import base64
from typing import Any

import pytest

AUTH_CASES = [
    ("managed_identity", ""),
    ("managed_identity", "user"),
    ("workload_identity", ""),
    ("managed_identity_federated", ""),
    ("service_principal_secret", ""),
    ("service_principal_certificate", ""),
    ("service_principal_certificate", "password"),
    ("key_vault_service_principal", "secret"),
    ("key_vault_service_principal", "pem"),
    ("key_vault_service_principal", "pkcs12"),
    ("default", ""),
]


def vault_host_of(world) -> str:
    return f"kv{world.subscription_id[:8]}.vault.azure.net"


def setup_identity(world, auth_type: str, monkeypatch: pytest.MonkeyPatch, variant: str = "") -> dict[str, Any]:
    """Create the identity for an auth type in the emulator, grant it Reader, return conn fields."""
    emu = world.emu
    t = world.tenant
    scope = f"/subscriptions/{world.subscription_id}/resourceGroups/{world.resource_group}"
    if auth_type == "managed_identity":
        mi = emu.add_managed_identity(t, user_assigned=variant == "user")
        emu.assign_role(mi, "Reader", scope)
        extra = {"managed_identity_client_id": mi.client_id} if variant == "user" else {}
        return world.conn("managed_identity", **extra)
    if auth_type == "default":
        mi = emu.add_managed_identity(t)
        emu.assign_role(mi, "Reader", scope)
        return world.conn("default")
    if auth_type == "workload_identity":
        wi = emu.add_workload_identity(t)
        emu.assign_role(wi, "Reader", scope)
        monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", wi.token_file)
        return world.conn("workload_identity", login=wi.client_id)
    if auth_type == "managed_identity_federated":
        mi = emu.add_managed_identity(t)
        app = emu.add_app_registration(t, trusts=mi)
        emu.assign_role(app, "Reader", scope)
        return world.conn("managed_identity_federated", login=app.client_id)
    if auth_type == "service_principal_secret":
        sp = emu.add_service_principal(t)
        emu.assign_role(sp, "Reader", scope)
        return world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    if auth_type == "service_principal_certificate":
        cp = emu.add_certificate_principal(t, password="pem-pass" if variant == "password" else None)
        emu.assign_role(cp, "Reader", scope)
        extra = {"client_certificate_private_key": cp.certificate_pem}
        if variant == "password":
            extra["client_certificate_password"] = "pem-pass"
        return world.conn("service_principal_certificate", login=cp.client_id, **extra)
    if auth_type == "key_vault_service_principal":
        bootstrap = emu.add_managed_identity(t)
        vault = emu.add_vault(t, vault_host_of(world).split(".")[0])
        emu.assign_role(bootstrap, "Key Vault Secrets User", vault)
        extra: dict[str, Any] = {"key_vault_url": vault, "key_vault_secret_name": "sp-credential"}
        if variant in ("pem", "pkcs12"):
            cp = emu.add_certificate_principal(t, password="pfx-pass" if variant == "pkcs12" else None)
            principal = cp
            if variant == "pem":
                emu.set_secret(vault, "sp-credential", cp.certificate_pem, content_type="application/x-pem-file")
            else:
                value = base64.b64encode(cp.pkcs12).decode()
                emu.set_secret(vault, "sp-credential", value, content_type="application/x-pkcs12")
                extra["client_certificate_password"] = "pfx-pass"
        else:
            principal = emu.add_service_principal(t)
            emu.set_secret(vault, "sp-credential", principal.secret)
        emu.assign_role(principal, "Reader", scope)
        return world.conn("key_vault_service_principal", login=principal.client_id, **extra)
    raise AssertionError(auth_type)
