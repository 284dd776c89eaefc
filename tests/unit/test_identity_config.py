"""Bad connections fail before any network call, naming the field and the fix."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.errors import ConnectionConfigError
from airflow_provider_appservice.identity.config import parse_allowed_hosts, parse_identity_config
from tests.unit.certificates import key_and_certificate

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
PEM = key_and_certificate()  # made now: no key-shaped text is committed
ENCRYPTED_PEM = key_and_certificate(password="opaque-canary-password")


def parse(login=None, password=None, environ=None, **extras):
    return parse_identity_config("c", login=login, password=password, extras=extras, environ=environ or {})


def field_of(call) -> tuple[str, str]:
    with pytest.raises(ConnectionConfigError) as info:
        call()
    return info.value.field, str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({}, "auth_type", "choose one of"),
        ({"auth_type": "magic"}, "auth_type", "not a known auth type"),
        ({"auth_type": "managed_identity", "cloud": "mars"}, "cloud", "public, china, usgovernment"),
        ({"auth_type": "service_principal_secret", "login": CLIENT, "password": "s"}, "tenant_id", "Directory"),
        ({"auth_type": "service_principal_secret", "tenant_id": TENANT, "password": "s"}, "Client ID", "client"),
        ({"auth_type": "service_principal_secret", "tenant_id": TENANT, "login": CLIENT}, "Client secret", "password"),
        (
            {
                "auth_type": "service_principal_secret",
                "tenant_id": TENANT,
                "login": CLIENT,
                "password": "s",
                "client_certificate_private_key": PEM,
            },
            "client_certificate_private_key",
            "not both",
        ),
        (
            {
                "auth_type": "service_principal_certificate",
                "tenant_id": TENANT,
                "login": CLIENT,
                "password": "s",
                "client_certificate_private_key": PEM,
            },
            "Client secret",
            "not both",
        ),
        (
            {
                "auth_type": "service_principal_certificate",
                "tenant_id": TENANT,
                "login": CLIENT,
                "client_certificate_private_key": "not a pem",
            },
            "client_certificate_private_key",
            "PEM",
        ),
        ({"auth_type": "managed_identity", "password": "s"}, "Client secret", "no secret"),
        ({"auth_type": "managed_identity", "login": CLIENT}, "Client ID", "managed_identity_client_id"),
        ({"auth_type": "managed_identity_federated", "tenant_id": TENANT}, "Client ID", "trusts"),
        ({"auth_type": "workload_identity", "tenant_id": TENANT, "login": CLIENT}, "auth_type", "AZURE_FEDERATED"),
        (
            {"auth_type": "key_vault_service_principal", "tenant_id": TENANT, "login": CLIENT},
            "key_vault_url",
            "vault",
        ),
        ({"auth_type": "managed_identity", "retry_max_attempts": "lots"}, "retry_max_attempts", "1 to 20"),
        ({"auth_type": "managed_identity", "retry_max_delay_seconds": 0}, "retry_max_delay_seconds", "1 to 600"),
        ({"auth_type": "managed_identity", "ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle", "PEM file"),
        ({"auth_type": "managed_identity", "allowed_hosts": "*.contoso.com"}, "allowed_hosts", "wildcards"),
        ({"auth_type": "managed_identity", "tenant_id": "bad tenant!"}, "tenant_id", "paste"),
    ],
)
def test_bad_configuration_names_field_and_fix(kwargs, field, words):
    login = kwargs.pop("login", None)
    password = kwargs.pop("password", None)
    got_field, message = field_of(lambda: parse(login=login, password=password, **kwargs))
    assert got_field == field
    assert words in message
    assert "Fix:" in message
    if password:
        assert repr(password) not in message  # a secret is never echoed


VAULT_BASE = {"auth_type": "key_vault_service_principal", "tenant_id": TENANT, "key_vault_secret_name": "sp"}


@pytest.mark.parametrize(
    ("url", "cloud", "words"),
    [
        ("http://v1.vault.azure.net", "public", "https"),
        ("https://user@v1.vault.azure.net", "public", "user information"),
        ("https://v1.vault.azure.net:8443", "public", "port"),
        ("https://v1.vault.azure.net/secrets/x", "public", "path"),
        ("https://v1.vault.azure.net?x=1", "public", "query"),
        ("https://v1.vault.azure.net.evil.example", "public", "not a vault"),
        ("https://vault.azure.net", "public", "not a vault"),
        ("https://v1.vault.azure.cn", "public", "not a vault"),
        ("https://v1.vault.azure.net", "china", "not a vault"),
        ("https://evil.example/v1.vault.azure.net", "public", "path"),
    ],
)
def test_key_vault_url_is_parsed_strictly(url, cloud, words):
    field, message = field_of(lambda: parse(login=CLIENT, key_vault_url=url, cloud=cloud, **VAULT_BASE))
    assert field == "key_vault_url"
    assert words in message


def test_key_vault_url_accepts_the_clouds_own_suffix_and_normalises_it():
    cfg = parse(login=CLIENT, key_vault_url="https://My-Vault.vault.azure.cn/", cloud="china", **VAULT_BASE)
    assert cfg.key_vault_url == "https://my-vault.vault.azure.cn"
    assert cfg.cloud.authority_host == "login.chinacloudapi.cn"


def test_valid_service_principal_reads_legacy_prefixed_extras_and_defaults():
    cfg = parse(
        login=CLIENT,
        password="s3cret",
        **{"extra__azure_app_service__auth_type": "service_principal_secret", "tenant_id": TENANT},
    )
    assert (cfg.auth_type, cfg.tenant, cfg.client) == ("service_principal_secret", TENANT, CLIENT)
    assert cfg.cloud.name == "public"
    assert (cfg.retry_max_attempts, cfg.retry_max_delay_seconds) == (4, 60)
    assert "s3cret" not in repr(cfg)
    assert "s3cret" not in cfg.principal_label


def test_workload_identity_takes_aks_environment():
    env = {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token", "AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": TENANT}
    cfg = parse(auth_type="workload_identity", environ=env)
    assert (cfg.federated_token_file, cfg.client_id, cfg.tenant_id) == ("/var/run/token", CLIENT, TENANT)


def test_fingerprint_changes_with_a_rotated_secret_but_not_with_unrelated_fields():
    base = dict(auth_type="service_principal_secret", tenant_id=TENANT)
    a = parse(login=CLIENT, password="one", **base)
    b = parse(login=CLIENT, password="two", **base)
    c = parse(login=CLIENT, password="one", resource_group="rg", **base)
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == c.fingerprint


def test_allowed_hosts_are_exact_lowercase_names():
    assert parse_allowed_hosts("API.Contoso.com, api.contoso.com ,edge.example.net.") == (
        "api.contoso.com",
        "edge.example.net",
    )
    assert parse_allowed_hosts(["a.example.org"]) == ("a.example.org",)
    for bad in ("https://a.example.org", "a.example.org:443", "a.example.org/x", "localhost"):
        with pytest.raises(ConnectionConfigError):
            parse_allowed_hosts(bad)


# -- the rule table ---------------------------------------------------------------------------------

from airflow_provider_appservice.identity.auth_rules import AUTH_RULES, IDENTITY_FIELDS, LABELS  # noqa: E402

# A connection each auth type accepts with nothing optional set.
MINIMAL = {
    "managed_identity": {},
    "workload_identity": {"tenant_id": TENANT, "login": CLIENT},
    "managed_identity_federated": {"tenant_id": TENANT, "login": CLIENT},
    "service_principal_secret": {"tenant_id": TENANT, "login": CLIENT, "password": "s"},
    "service_principal_certificate": {"tenant_id": TENANT, "login": CLIENT, "client_certificate_private_key": PEM},
    "key_vault_service_principal": {
        "tenant_id": TENANT,
        "login": CLIENT,
        "key_vault_url": "https://my-vault.vault.azure.net",
        "key_vault_secret_name": "sp",
    },
    "default": {},
}
SAMPLE = {
    "tenant_id": TENANT,
    "login": CLIENT,
    "password": "opaque-canary-secret",
    "client_certificate_private_key": PEM,
    "client_certificate_password": "opaque-canary-password",
    "managed_identity_client_id": CLIENT,
    "key_vault_url": "https://my-vault.vault.azure.net",
    "key_vault_secret_name": "sp",
}
WORKLOAD_ENV = {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}


def parse_fields(auth_type, fields, environ=None):
    fields = dict(fields)
    return parse(
        login=fields.pop("login", None),
        password=fields.pop("password", None),
        environ=environ if environ is not None else WORKLOAD_ENV,
        auth_type=auth_type,
        **fields,
    )


@pytest.mark.parametrize("auth_type", list(AUTH_RULES))
def test_each_auth_type_names_every_field_once(auth_type):
    rules = AUTH_RULES[auth_type]
    named = [r.field for r in rules.requires if r.field in IDENTITY_FIELDS]
    named += [r.field for r in rules.forbids] + list(rules.accepts)
    assert sorted(named) == sorted(IDENTITY_FIELDS)


@pytest.mark.parametrize("auth_type", list(AUTH_RULES))
def test_the_minimal_connection_of_each_auth_type_parses(auth_type):
    assert parse_fields(auth_type, MINIMAL[auth_type]).auth_type == auth_type


@pytest.mark.parametrize(
    ("auth_type", "field"),
    [(t, r.field) for t, rules in AUTH_RULES.items() for r in rules.requires if r.field in IDENTITY_FIELDS],
)
def test_a_missing_required_field_is_named(auth_type, field):
    fields = {k: v for k, v in MINIMAL[auth_type].items() if k != field}
    got_field, message = field_of(lambda: parse_fields(auth_type, fields, environ={}))
    assert got_field == LABELS.get(field, field)
    assert f"is required for auth_type '{auth_type}'" in message


@pytest.mark.parametrize(
    ("auth_type", "field"), [(t, r.field) for t, rules in AUTH_RULES.items() for r in rules.forbids]
)
def test_a_forbidden_field_is_named(auth_type, field):
    got_field, message = field_of(lambda: parse_fields(auth_type, {**MINIMAL[auth_type], field: SAMPLE[field]}))
    assert got_field == LABELS.get(field, field)
    assert f"must be empty for auth_type '{auth_type}'" in message
    assert SAMPLE[field] not in message  # a forbidden secret is not echoed either


@pytest.mark.parametrize(("auth_type", "field"), [(t, f) for t, rules in AUTH_RULES.items() for f in rules.accepts])
def test_an_accepted_field_is_kept(auth_type, field):
    fields = {**MINIMAL[auth_type], field: SAMPLE[field]}
    if field == "client_certificate_password" and "client_certificate_private_key" in fields:
        fields["client_certificate_private_key"] = ENCRYPTED_PEM  # a password needs a key it decrypts
    cfg = parse_fields(auth_type, fields)
    attribute = {"login": "client_id", "password": "client_secret", "client_certificate_private_key": "certificate_pem"}
    attribute |= {"client_certificate_password": "certificate_password"}
    assert getattr(cfg, attribute.get(field, field)) == SAMPLE[field].strip()  # extras are stripped


def test_workload_identity_without_the_token_file_names_the_variable():
    got_field, message = field_of(
        lambda: parse_fields("workload_identity", MINIMAL["workload_identity"], environ={"AZURE_CLIENT_ID": CLIENT})
    )
    assert got_field == "auth_type"
    assert "AZURE_FEDERATED_TOKEN_FILE" in message


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("subscription-id", "subscription_id"),
        ("resourceGroup", "resource_group"),
        ("tenant", "tenant_id"),
        ("zzz", None),
    ],
)
def test_a_misspelt_or_unknown_extra_is_refused_not_ignored(key, suggestion):
    extras = {"auth_type": "managed_identity", key: "value"}
    with pytest.raises(ConnectionConfigError) as info:
        parse_identity_config("c", login=None, password=None, extras=extras)
    assert info.value.field == key and "would be ignored" in str(info.value)
    if suggestion:
        assert f"rename it to '{suggestion}'" in str(info.value)


@pytest.mark.parametrize("value", [2.9, True, "2.9", "two", [3], -1, 0, 21])
def test_retry_attempts_are_whole_numbers_in_range_never_coerced(value):
    extras = {"auth_type": "managed_identity", "retry_max_attempts": value}
    with pytest.raises(ConnectionConfigError) as info:
        parse_identity_config("c", login=None, password=None, extras=extras)
    assert info.value.field == "retry_max_attempts"


@pytest.mark.parametrize("value", [3, "3", " 7 "])
def test_retry_attempts_as_number_or_text(value):
    extras = {"auth_type": "managed_identity", "retry_max_attempts": value}
    config = parse_identity_config("c", login=None, password=None, extras=extras)
    assert config.retry_max_attempts == int(str(value).strip())
