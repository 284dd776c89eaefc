"""The shape rules of identity fields (identity/fields.py): each bad value fails at parse time,
naming the field and the fix, without echoing a secret or PEM text."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_appservice.errors import ConnectionConfigError
from airflow_provider_appservice.hooks.app_service import config_from_connection
from airflow_provider_appservice.identity.config import parse_identity_config
from airflow_provider_appservice.identity.fields import extras_of
from tests.unit import certificates

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SP = {"auth_type": "service_principal_secret", "tenant_id": TENANT}


def refused(login=CLIENT, password=None, environ=None, **extras) -> ConnectionConfigError:
    with pytest.raises(ConnectionConfigError) as info:
        parse_identity_config("c", login=login, password=password, extras=extras, environ=environ or {})
    assert "Fix:" in str(info.value)
    return info.value


def parses(login=CLIENT, password=None, environ=None, **extras):
    return parse_identity_config("c", login=login, password=password, extras=extras, environ=environ or {})


# -- tenant_id ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tenant", [TENANT, TENANT.upper(), "contoso.onmicrosoft.com", "Contoso.com", "a.b.example"])
def test_a_tenant_is_a_guid_or_a_domain(tenant):
    assert parses(password="s", **dict(SP, tenant_id=tenant)).tenant_id == tenant


@pytest.mark.parametrize("tenant", ["common", "organizations", "consumers", "Common"])
def test_a_multi_tenant_authority_is_refused(tenant):
    error = refused(password="s", **dict(SP, tenant_id=tenant))
    assert error.field == "tenant_id" and "multi-tenant" in str(error)


@pytest.mark.parametrize(
    "tenant", ["contoso", "..", "a..b", ".contoso.com", "contoso.com.", "-x.com", "bad tenant!", TENANT + "0", "x.1"]
)
def test_a_tenant_that_is_neither_guid_nor_domain_is_refused(tenant):
    error = refused(password="s", **dict(SP, tenant_id=tenant))
    assert error.field == "tenant_id" and "contoso.onmicrosoft.com" in str(error)


def test_a_tenant_is_checked_for_managed_identity_too():
    assert refused(login=None, auth_type="managed_identity", tenant_id="common").field == "tenant_id"


# -- Client ID and managed_identity_client_id -----------------------------------------------------

USES_LOGIN = {
    "service_principal_secret": ({"tenant_id": TENANT}, "s"),
    "service_principal_certificate": (
        {"tenant_id": TENANT, "client_certificate_private_key": certificates.key_and_certificate()},
        None,
    ),
    "key_vault_service_principal": (
        {"tenant_id": TENANT, "key_vault_url": "https://my-vault.vault.azure.net", "key_vault_secret_name": "sp"},
        None,
    ),
    "managed_identity_federated": ({"tenant_id": TENANT}, None),
    "workload_identity": ({"tenant_id": TENANT}, None),
}
TOKEN_FILE = {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}


@pytest.mark.parametrize("auth_type", list(USES_LOGIN))
@pytest.mark.parametrize("login", ["my-app", "s3cr3t~value.that-was-swapped", "{" + CLIENT + "}", CLIENT[:-1]])
def test_the_client_id_is_a_guid_and_never_echoed(auth_type, login):
    extras, password = USES_LOGIN[auth_type]
    error = refused(login=login, password=password, environ=TOKEN_FILE, auth_type=auth_type, **extras)
    assert error.field == "Client ID" and "GUID" in str(error)
    assert login not in str(error)  # a secret pasted into the wrong field stays unsaid


@pytest.mark.parametrize("auth_type", list(USES_LOGIN))
def test_a_guid_client_id_parses_for_each_auth_type_that_uses_it(auth_type):
    extras, password = USES_LOGIN[auth_type]
    cfg = parses(login=CLIENT.upper(), password=password, environ=TOKEN_FILE, auth_type=auth_type, **extras)
    assert cfg.client_id == CLIENT.upper()


def test_a_client_id_from_the_aks_environment_is_checked_too():
    env = dict(TOKEN_FILE, AZURE_CLIENT_ID="not-a-guid")
    assert refused(login=None, environ=env, auth_type="workload_identity", tenant_id=TENANT).field == "Client ID"


def test_managed_identity_refuses_a_login_before_its_shape_is_looked_at():
    error = refused(login="my-app", auth_type="managed_identity")
    assert error.field == "Client ID" and "must be empty" in str(error)


@pytest.mark.parametrize("auth_type", ["managed_identity", "managed_identity_federated", "default"])
def test_managed_identity_client_id_is_a_guid(auth_type):
    login = CLIENT if auth_type == "managed_identity_federated" else None
    extras = {"tenant_id": TENANT} if auth_type == "managed_identity_federated" else {}
    error = refused(login=login, auth_type=auth_type, managed_identity_client_id="my-identity", **extras)
    assert error.field == "managed_identity_client_id" and "'my-identity' is not a GUID" in str(error)


# -- client_certificate_private_key and client_certificate_password ----------------------------------

CERT = {"auth_type": "service_principal_certificate", "tenant_id": TENANT}


@pytest.mark.parametrize(
    ("pem", "password", "field", "words"),
    [
        (certificates.unreadable_key(), None, "key", "cannot be read"),
        ("just text", None, "key", "not PEM"),
        (certificates.key_only(), None, "key", "no certificate"),
        (certificates.certificate_only(), None, "key", "not PEM text with a private key"),
        (certificates.key_with_another_certificate(), None, "key", "certificate of another key"),
        (certificates.ec_key_and_certificate(), None, "key", "not RSA"),
        (certificates.key_and_certificate("right"), "wrong", "password", "does not decrypt"),
        (certificates.key_and_certificate("right"), None, "password", "key is encrypted"),
        (certificates.key_and_certificate(), "extra", "password", "not encrypted"),
    ],
)
def test_a_broken_certificate_is_refused_at_parse_time_without_echoing_it(pem, password, field, words):
    extras = dict(CERT, client_certificate_private_key=pem)
    if password:
        extras["client_certificate_password"] = password
    error = refused(**extras)
    assert error.field == {"key": "client_certificate_private_key", "password": "client_certificate_password"}[field]
    assert words in str(error)
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    assert not any(line in str(error) for line in body)  # no PEM content in the message
    assert not password or password not in str(error)


@pytest.mark.parametrize("password", [None, "right"])
def test_a_key_with_its_certificate_and_password_parses(password):
    pem = certificates.key_and_certificate(password)
    cfg = parses(**dict(CERT, client_certificate_private_key=pem, client_certificate_password=password))
    assert (cfg.certificate_pem, cfg.certificate_password) == (pem.strip(), password)  # extras are stripped


# -- key_vault_secret_name ------------------------------------------------------------------------

VAULT = {
    "auth_type": "key_vault_service_principal",
    "tenant_id": TENANT,
    "key_vault_url": "https://my-vault.vault.azure.net",
}


@pytest.mark.parametrize("name", ["sp", "sp-credential", "0sp", "A" * 127])
def test_a_vault_secret_name_follows_key_vaults_rule(name):
    assert parses(**VAULT, key_vault_secret_name=name).key_vault_secret_name == name


@pytest.mark.parametrize("name", ["a/b", "sp_credential", "sp credential", "sp/0123abcd", "A" * 128, "..", "sp."])
def test_a_vault_secret_name_that_key_vault_cannot_have_is_refused(name):
    error = refused(**VAULT, key_vault_secret_name=name)
    assert error.field == "key_vault_secret_name" and "1-127 letters, digits and hyphens" in str(error)


# -- auth_type 'default' ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", "opaque-canary-secret"),
        ("client_certificate_private_key", certificates.key_and_certificate()),
        ("client_certificate_password", "opaque-canary-password"),
    ],
)
def test_default_refuses_a_secret_it_would_ignore(field, value):
    extras = {} if field == "password" else {field: value}
    error = refused(login=None, password=value if field == "password" else None, auth_type="default", **extras)
    assert error.field == {"password": "Client secret"}.get(field, field)
    assert "DefaultAzureCredential would ignore it" in str(error) and value not in str(error)


def test_default_without_secrets_parses():
    assert parses(login=None, auth_type="default", tenant_id=TENANT).auth_type == "default"


# -- the connection's extra ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("{not json", "is not JSON"),
        ('["auth_type", "service_principal_secret"]', "is a JSON list, not an object"),
        ('"managed_identity"', "is a JSON str"),
        ("42", "is a JSON int"),
        ('{"auth_type": "managed_identity", "password": "opaque-canary"', "is not JSON"),
    ],
)
def test_an_extra_that_is_not_a_json_object_is_refused_by_name(raw, words):
    conn = SimpleNamespace(conn_id="c", login=None, password=None, extra=raw)
    with pytest.raises(ConnectionConfigError) as info:
        config_from_connection(conn)
    assert info.value.field == "extra" and words in str(info.value) and "Fix:" in str(info.value)
    assert "opaque-canary" not in str(info.value)


@pytest.mark.parametrize("raw", [None, "", {}, "{}"])
def test_an_empty_extra_is_an_empty_object(raw):
    assert extras_of(raw) == {}


def test_config_from_connection_reads_a_json_object_extra():
    conn = SimpleNamespace(conn_id="c", login=None, password=None, extra='{"auth_type": "managed_identity"}')
    assert config_from_connection(conn).auth_type == "managed_identity"
