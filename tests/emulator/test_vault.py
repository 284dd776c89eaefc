"""Key Vault through the real SecretClient: the 401 challenge with the default
``verify_challenge_resource``, RBAC, and the content types the provider branches on."""

from __future__ import annotations

import asyncio
import base64
import secrets

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets.aio import SecretClient as AioSecretClient
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

from .scenarios import make_scenario


def _vault(emu, sc, role="Key Vault Secrets User"):
    url = emu.add_vault(sc.tenant, f"kv{secrets.token_hex(4)}")
    if role:
        emu.assign_role(sc.principal, role, url)
    return url


@pytest.mark.parametrize("cloud", ["public", "china"])
@pytest.mark.parametrize("kind", ["secret", "msi"])
def test_sync_secret_read_through_the_challenge(emu, cloud, kind):
    sc = make_scenario(emu, kind, cloud=cloud)
    url = _vault(emu, sc)
    assert url.endswith(".vault.azure.net" if cloud == "public" else ".vault.azure.cn")
    emu.set_secret(url, "db-password", "v1")
    version = emu.set_secret(url, "db-password", "v2")
    client = SecretClient(url, sc.credential(), connection_verify=emu.ca_path)
    secret = client.get_secret("db-password")
    assert secret.value == "v2" and secret.properties.version == version
    assert secret.properties.recovery_level == "Recoverable+Purgeable"
    vault_calls = [(r.status, r.bearer) for r in emu.requests if r.kind == "vault"]
    assert vault_calls == [(401, False), (200, True)]
    resource = "https://vault.azure.net" if cloud == "public" else "https://vault.azure.cn"
    assert emu.token_requests(audience=resource) == 1


def test_aio_secret_read_through_the_challenge(emu):
    sc = make_scenario(emu, "secret")
    url = _vault(emu, sc)
    emu.set_secret(url, "name", "value")

    async def read():
        cred = sc.credential(aio=True)
        async with cred, AioSecretClient(url, cred, connection_verify=emu.ca_path) as client:
            return (await client.get_secret("name")).value

    assert asyncio.run(read()) == "value"


def test_pem_and_pkcs12_round_trip(emu):
    sc = make_scenario(emu, "secret")
    url = _vault(emu, sc)
    cp = emu.add_certificate_principal(sc.tenant, password="pw")
    emu.set_secret(url, "pem", cp.certificate_pem, content_type="application/x-pem-file")
    emu.set_secret(url, "pfx", base64.b64encode(cp.pkcs12).decode(), content_type="application/x-pkcs12")
    client = SecretClient(url, sc.credential(), connection_verify=emu.ca_path)
    pem = client.get_secret("pem")
    assert pem.properties.content_type == "application/x-pem-file"
    key = load_pem_private_key(pem.value.encode(), password=b"pw")
    pfx = client.get_secret("pfx")
    assert pfx.properties.content_type == "application/x-pkcs12"
    pfx_key, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(pfx.value), b"pw")
    assert pfx_key is not None and cert is not None
    assert pfx_key.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_no_data_role_is_forbidden_by_rbac_even_for_owner(emu):
    """As in real Azure, Owner has no data actions: it cannot read secrets under RBAC."""
    sc = make_scenario(emu, "secret", role=None)
    url = emu.add_vault(sc.tenant, f"kv{secrets.token_hex(4)}", subscription_id=sc.subscription_id)
    emu.assign_role(sc.principal, "Owner", f"/subscriptions/{sc.subscription_id}")
    emu.set_secret(url, "name", "canary-secret-value")
    with pytest.raises(HttpResponseError) as info:
        SecretClient(url, sc.credential(), connection_verify=emu.ca_path).get_secret("name")
    assert info.value.status_code == 403 and info.value.error.code == "Forbidden"
    assert info.value.response.json()["error"]["innererror"]["code"] == "ForbiddenByRbac"
    assert "canary-secret-value" not in info.value.response.text()


def test_missing_secret_and_version(emu):
    sc = make_scenario(emu, "secret")
    url = _vault(emu, sc)
    emu.set_secret(url, "exists", "x")
    client = SecretClient(url, sc.credential(), connection_verify=emu.ca_path)
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_secret("missing")
    assert info.value.error.code == "SecretNotFound"
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("exists", version="0" * 32)


def test_vault_of_another_tenant_is_refused_by_the_client(emu):
    sc = make_scenario(emu, "secret")
    other = emu.add_tenant()
    url = emu.add_vault(other, f"kv{secrets.token_hex(4)}")
    emu.set_secret(url, "name", "value")
    with pytest.raises(ClientAuthenticationError):
        SecretClient(url, sc.credential(), connection_verify=emu.ca_path).get_secret("name")
