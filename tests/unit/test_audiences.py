"""App tokens: the floor (powerful audiences never, by URI or application id) and the allow-rule."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.errors import ConnectionConfigError, TaskArgumentError
from airflow_provider_appservice.identity.audiences import (
    POWERFUL_APP_IDS,
    app_scope,
    canonical,
    check_allowed,
    easy_auth_audiences,
    parse_allowed_audiences,
)
from airflow_provider_appservice.identity.config import parse_identity_config

CLIENT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.mark.parametrize(
    ("audience", "scope"),
    [
        (f"api://{CLIENT}", f"api://{CLIENT}/.default"),
        (f"api://{CLIENT}/.default", f"api://{CLIENT}/.default"),
        ("api://orders-api", "api://orders-api/.default"),
        (CLIENT, f"{CLIENT}/.default"),
        ("https://api.contoso.com/orders", "https://api.contoso.com/orders/.default"),
        ("https://api.contoso.com/orders/", "https://api.contoso.com/orders/.default"),
    ],
)
def test_app_audiences_pass_the_floor(audience, scope):
    assert app_scope(audience) == scope


POWERFUL_URIS = [
    "https://management.azure.com",
    "https://management.azure.com/.default",
    "https://management.azure.com.",  # trailing dot
    "https://management.azure.com./",
    "HTTPS://MANAGEMENT.AZURE.COM/",
    "https://management.azure.com:443/",
    "https://management.core.windows.net/",
    "https://management.chinacloudapi.cn",
    "https://management.core.chinacloudapi.cn/",
    "https://management.core.usgovcloudapi.net/",
    "https://appservice.azure.com",
    "https://appservice.azure.com/.default",
    "https://graph.microsoft.com",
    "https://graph.microsoft.us/.default",
    "https://vault.azure.net",
    "https://myvault.vault.azure.net",
    "https://vault.azure.cn",
    "https://storage.azure.com/",
    "https://account.blob.core.windows.net",
    "api://AzureADTokenExchange",
    "api://AzureADTokenExchangeChina",
    "https://database.windows.net/",
    "https://api.loganalytics.io",
    "https://api.loganalytics.azure.com",
    "https://monitor.azure.com",
    "https://kusto.kusto.windows.net",
    "https://mycluster.westeurope.kusto.windows.net",
    "https://containerregistry.azure.net",
    "https://myregistry.azurecr.io",
    "https://cosmos.azure.com",
    "https://myaccount.documents.azure.com",
    "https://eventgrid.azure.net",
    "https://redis.azure.com",
    "https://analysis.windows.net/powerbi/api",
    "https://servicebus.azure.net",
    "https://eventhubs.azure.net",
    "https://cognitiveservices.azure.com",
    "https://app.vssps.visualstudio.com",
]
MALFORMED = [
    "",
    "   ",
    "not a uri",
    "http://api.contoso.com",
    "https://management%2Eazure.com",
    "https://u@api.contoso.com",
]


@pytest.mark.parametrize("audience", POWERFUL_URIS + sorted(POWERFUL_APP_IDS) + MALFORMED)
def test_powerful_or_malformed_audiences_are_refused(audience):
    with pytest.raises(TaskArgumentError) as info:
        app_scope(audience)
    assert info.value.argument == "audience"
    assert "Fix:" in str(info.value)


@pytest.mark.parametrize(
    "audience",
    [
        "797F4846-BA00-4FD7-BA43-DAC1F8F63013",  # ARM by application id, any case
        "api://797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "00000003-0000-0000-c000-000000000000/.default",  # Graph
        "499b84ac-1321-427f-aa17-267ca6975798",  # Azure DevOps
    ],
)
def test_first_party_application_ids_are_refused_in_any_spelling(audience):
    with pytest.raises(TaskArgumentError, match="application id of"):
        app_scope(audience)


def test_canonical_form_ignores_case_default_slash_and_host_dot():
    assert canonical("HTTPS://Management.Azure.Com./.default") == "https://management.azure.com"
    assert canonical(f"api://{CLIENT.upper()}/") == f"api://{CLIENT}"


@pytest.mark.parametrize(
    "raw",
    [
        f"api://{CLIENT}, https://api.contoso.com/orders",
        f"api://{CLIENT}\nhttps://api.contoso.com/orders\n",
        f'["api://{CLIENT}", "https://api.contoso.com/orders"]',
        [f"api://{CLIENT}", "https://api.contoso.com/orders"],
    ],
)
def test_allowed_audiences_are_parsed_from_text_lines_or_json(raw):
    assert parse_allowed_audiences(raw) == (f"api://{CLIENT}", "https://api.contoso.com/orders")


@pytest.mark.parametrize(
    "raw",
    [
        "https://management.azure.com.",
        f"api://{CLIENT}, https://graph.microsoft.com",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        '["api://x", ',
        "[1, 2]",
        "http://api.contoso.com",
    ],
)
def test_allowed_audiences_refuses_powerful_or_malformed_entries(raw):
    with pytest.raises(ConnectionConfigError) as info:
        parse_allowed_audiences(raw)
    assert info.value.field == "allowed_audiences"
    assert "Fix:" in str(info.value)


def test_allowed_audiences_is_a_connection_field_checked_at_parse_time():
    config = parse_identity_config(
        "c", login=None, password=None, extras={"auth_type": "managed_identity", "allowed_audiences": "api://orders"}
    )
    assert config.allowed_audiences == ("api://orders",)
    with pytest.raises(ConnectionConfigError, match="allowed_audiences"):
        parse_identity_config(
            "c",
            login=None,
            password=None,
            extras={"auth_type": "managed_identity", "allowed_audiences": "https://vault.azure.net"},
        )


def test_easy_auth_audiences_are_the_client_id_in_both_spellings_and_allowed_audiences():
    found = easy_auth_audiences(CLIENT, ["https://api.contoso.com/orders/"])
    assert found == {CLIENT, f"api://{CLIENT}", "https://api.contoso.com/orders"}
    assert easy_auth_audiences(None, None) == frozenset()


def test_allow_rule_accepts_the_apps_own_or_the_connections_audiences():
    own = easy_auth_audiences(CLIENT, [])
    check_allowed(f"API://{CLIENT}/.default", own, (), "conn")
    check_allowed("api://partner/.default", own, ("api://partner",), "conn")


@pytest.mark.parametrize("scope", ["api://another-app/.default", "11111111-2222-3333-4444-555555555555/.default"])
def test_allow_rule_refuses_any_other_audience_naming_the_fix(scope):
    with pytest.raises(TaskArgumentError) as info:
        check_allowed(scope, easy_auth_audiences(CLIENT, []), ("api://partner",), "conn")
    assert info.value.argument == "audience"
    assert "allowed_audiences" in str(info.value) and "conn" in str(info.value)
