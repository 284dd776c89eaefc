"""The pinning decision itself: https, exact host, default port, no userinfo."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.wire.pinning import refusal_reason

ALLOWED = frozenset({"management.azure.com", "app.scm.azurewebsites.net"})


@pytest.mark.parametrize(
    "url",
    [
        "https://management.azure.com/subscriptions/x",
        "https://MANAGEMENT.azure.com./subscriptions/x",
        "https://management.azure.com:443/x",
        "https://app.scm.azurewebsites.net/api/deployments/1",
    ],
)
def test_allowed(url):
    assert refusal_reason(url, ALLOWED) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://app.scm.azurewebsites.net:80/api/deployments/latest", "not https"),
        ("https://management.azure.com.evil.example/x", "not one this token is for"),
        ("https://evil.example/management.azure.com", "not one this token is for"),
        ("https://management.azure.com:8443/x", "port 8443"),
        ("https://user:pw@management.azure.com/x", "user information"),
        ("https://app.azurewebsites.net/", "not one this token is for"),
        ("https://[::1/x", "cannot be parsed"),
    ],
)
def test_refused(url, words):
    reason = refusal_reason(url, ALLOWED)
    assert reason is not None and words in reason


@pytest.mark.parametrize(
    "host_header",
    ["evil.example.com", "management.azure.com", "shop.azurewebsites.net.evil.com", "SHOP-2.azurewebsites.net:443"],
)
def test_a_host_header_naming_another_host_is_refused(host_header: str) -> None:
    """Pinning holds for the effective host: a Host header that names another host is refused."""
    reason = refusal_reason("https://shop.azurewebsites.net/api", frozenset({"shop.azurewebsites.net"}), host_header)
    assert reason is not None and "Host header" in reason


def test_a_host_header_naming_the_same_host_passes() -> None:
    allowed = frozenset({"shop.azurewebsites.net"})
    assert refusal_reason("https://shop.azurewebsites.net/api", allowed, "Shop.AzureWebsites.net:443") is None


@pytest.mark.parametrize("name", ["Host", "authorization", "Proxy-Authorization", " HOST "])
def test_callers_may_not_set_the_headers_that_decide_where_a_token_goes(name: str) -> None:
    from airflow_provider_appservice.errors import TaskArgumentError
    from airflow_provider_appservice.operations.endpoint import check_headers

    with pytest.raises(TaskArgumentError) as info:
        check_headers({name: "x"})
    assert info.value.argument == "headers"


@pytest.mark.parametrize(
    "path", ["https://evil.example.com/x", "//evil.example.com/x", "evil.example.com:443/x", "/a b", "/x\n"]
)
def test_a_path_that_names_another_host_is_refused(path: str) -> None:
    """An absolute URL as a health or endpoint path would probe another host through format_url."""
    from airflow_provider_appservice.errors import TaskArgumentError
    from airflow_provider_appservice.operations.endpoint import check_app_path

    with pytest.raises(TaskArgumentError) as info:
        check_app_path(path, "health_path")
    assert info.value.argument == "health_path"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (0, False),
        (-1, False),
        ("0", False),
        (True, False),
        ("x", False),
        (float("nan"), False),
        (0.5, True),
        ("30", True),
    ],
)
def test_seconds_and_counts_must_be_positive(value: object, ok: bool) -> None:
    from airflow_provider_appservice.errors import TaskArgumentError
    from airflow_provider_appservice.operations.endpoint import check_positive

    if ok:
        assert check_positive(value, "timeout") > 0
    else:
        with pytest.raises(TaskArgumentError, match="timeout"):
            check_positive(value, "timeout")
