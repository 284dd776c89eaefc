"""One rule for secrets in a URL's query (a SAS ``sig``, a function key's ``code``): every form a
masker must know, and the URL as logs show it."""

from __future__ import annotations

from airflow_provider_appservice.operations.function_keys import (
    function_key_secrets,
    has_function_key,
    redact_path,
    with_function_key,
)
from airflow_provider_appservice.operations.packages import redact_url, sas_secrets


def test_a_function_key_in_the_path_in_every_form():
    key = "abc/def+ghi=="
    path = "/api/orders?day=1&code=abc%2Fdef%2Bghi%3D%3D"
    found = function_key_secrets(path)
    assert {key, "abc%2Fdef%2Bghi%3D%3D"} <= found
    assert redact_path(path) == "/api/orders?day=1&code=***"
    assert redact_path("/api/orders?CODE=x1234") == "/api/orders?CODE=***"
    assert redact_path("/api/orders") == "/api/orders"
    assert function_key_secrets("/api/orders?codes=abcdef") == set(), "only the code parameter"


def test_a_header_key_and_the_header_sent():
    assert function_key_secrets("/x", {"X-Functions-Key": "k-12345"}) == {"k-12345"}
    assert has_function_key("/x", {"x-functions-key": "k"}) and has_function_key("/x?code=k", None)
    assert not has_function_key("/x?day=1", {"accept": "json"})
    assert with_function_key({"X-Functions-Key": "old", "a": "b"}, "new") == {"a": "b", "x-functions-key": "new"}


def test_the_sas_signature_uses_the_same_rule():
    url = "https://a.blob.core.windows.net/c/app.zip?sv=2024&sig=s%2Fg1%3D&se=2026"
    assert redact_url(url) == "https://a.blob.core.windows.net/c/app.zip?sv=2024&sig=***&se=2026"
    assert {"s/g1=", "s%2Fg1%3D"} <= sas_secrets(url)
    assert "2024" not in sas_secrets(url)
