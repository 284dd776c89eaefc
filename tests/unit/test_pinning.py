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
