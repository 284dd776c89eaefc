"""App tokens are only for an app's own audience; powerful audiences are refused in every cloud."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.identity.audiences import app_scope

CLIENT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.mark.parametrize(
    ("audience", "scope"),
    [
        (f"api://{CLIENT}", f"api://{CLIENT}/.default"),
        (f"api://{CLIENT}/.default", f"api://{CLIENT}/.default"),
        ("api://orders-api", "api://orders-api/.default"),
        (CLIENT, f"{CLIENT}/.default"),
        ("https://api.contoso.com/orders", "https://api.contoso.com/orders/.default"),
    ],
)
def test_app_audiences_are_accepted(audience, scope):
    assert app_scope(audience) == scope


@pytest.mark.parametrize(
    "audience",
    [
        "https://management.azure.com",
        "https://management.azure.com/.default",
        "https://management.core.windows.net/",
        "https://management.chinacloudapi.cn",
        "https://management.core.usgovcloudapi.net/",
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
        "",
        "not a uri",
        "http://api.contoso.com",
    ],
)
def test_powerful_or_malformed_audiences_are_refused(audience):
    with pytest.raises(TaskArgumentError) as info:
        app_scope(audience)
    assert info.value.argument == "audience"
