"""The one error boundary, table-driven: every fault x every call kind gets one class and a clear text.

The exceptions are built the way the SDK builds them (real azure-core errors around real
``requests``/``urllib3`` objects), so a change in how the boundary reads them shows up here.
"""

from __future__ import annotations

import email.utils
import http.client
import importlib
import json
import pkgutil
import time
from dataclasses import dataclass

import pytest
import requests
import urllib3.exceptions
from airflow.sdk.definitions.retry_policy import RetryAction
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransportResponse

import airflow_provider_appservice
from airflow_provider_appservice import errors
from airflow_provider_appservice.boundary import classify
from airflow_provider_appservice.common.mixins import APP_SERVICE_RETRY_POLICY
from airflow_provider_appservice.errors import (
    AmbiguousOutcomeError,
    AppServiceError,
    AuthenticationFailed,
    AuthenticationUnavailable,
    AzureRequestError,
    PermanentAzureError,
)


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> RequestsTransportResponse:
    raw = requests.Response()
    raw.status_code = status
    raw._content = body
    raw.reason = http.client.responses.get(status, "")
    raw.headers.update({"x-ms-request-id": "req-123", **(headers or {})})
    return RequestsTransportResponse(None, raw)  # type: ignore[arg-type]


def http_error(status: int, code: str = "", headers: dict[str, str] | None = None) -> HttpResponseError:
    body = f'{{"error": {{"code": "{code}", "message": "refused by the test"}}}}'.encode() if code else b""
    cls = ResourceNotFoundError if status == 404 else HttpResponseError
    return cls(response=_response(status, body, headers))


def reset_before_sending() -> ServiceRequestError:
    inner = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    return ServiceRequestError("connection refused", error=inner)


def reset_after_sending() -> ServiceRequestError:
    # Through an HTTPS proxy, urllib3 reports a cut after sending as a proxy error.
    inner = urllib3.exceptions.ProxyError(
        "Unable to connect to proxy", http.client.RemoteDisconnected("Remote end closed connection")
    )
    return ServiceRequestError("proxy error", error=inner)


def read_timeout() -> ServiceResponseError:
    inner = urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out. (read timeout=1)")  # type: ignore[arg-type]
    return ServiceResponseError("Read timed out", error=inner)


def entra(text: str) -> ClientAuthenticationError:
    return ClientAuthenticationError(f"Authentication failed: {text}")


HTTP_DATE = email.utils.formatdate(time.time() + 30, usegmt=True)


@dataclass(frozen=True)
class Case:
    fault: str
    exc: BaseException
    idempotent: type[AppServiceError]
    non_idempotent: type[AppServiceError]
    says: tuple[str, ...] = ()


CASES = [
    Case("429 Retry-After seconds", http_error(429, "TooManyRequests", {"Retry-After": "7"}), AzureRequestError, AzureRequestError, ("HTTP 429", "TooManyRequests", "req-123", "transient")),
    Case("429 Retry-After date", http_error(429, "TooManyRequests", {"Retry-After": HTTP_DATE}), AzureRequestError, AzureRequestError, ("HTTP 429",)),
    Case("500", http_error(500, "InternalServerError"), AzureRequestError, AmbiguousOutcomeError, ("HTTP 500",)),
    Case("502", http_error(502), AzureRequestError, AmbiguousOutcomeError, ("HTTP 502",)),
    Case("503", http_error(503, "ServiceUnavailable"), AzureRequestError, AzureRequestError, ("HTTP 503",)),
    Case("504", http_error(504, "GatewayTimeout"), AzureRequestError, AmbiguousOutcomeError, ("HTTP 504",)),
    Case("reset before sending", reset_before_sending(), AzureRequestError, AzureRequestError, ("no answer from Azure",)),
    Case("reset after sending", reset_after_sending(), AzureRequestError, AmbiguousOutcomeError, ()),
    Case("slower than the request timeout", read_timeout(), AzureRequestError, AmbiguousOutcomeError, ()),
    Case("Entra 503", entra("HTTP Error: 503"), AuthenticationUnavailable, AuthenticationUnavailable, ("HTTP 503", "Entra ID is unavailable", "transient")),
    Case("Entra 500", entra("HTTP Error: 500"), AuthenticationUnavailable, AuthenticationUnavailable, ("HTTP 500",)),
    Case("Entra reset", entra("EOF occurred in violation of protocol (_ssl.c:2427)"), AuthenticationUnavailable, AuthenticationUnavailable, ("did not answer",)),
    Case("wrong secret", entra("AADSTS7000215: Invalid client secret provided. Trace ID: x"), AuthenticationFailed, AuthenticationFailed, ("AADSTS7000215", "client secret is wrong", "Check Client secret")),
    Case("unknown tenant", entra("AADSTS90002: Tenant 'x' not found."), AuthenticationFailed, AuthenticationFailed, ("AADSTS90002", "tenant_id")),
    Case("expired certificate", entra("AADSTS700027: Client assertion failed signature validation."), AuthenticationFailed, AuthenticationFailed, ("AADSTS700027",)),
    Case("ARM 401 expired token", http_error(401, "ExpiredAuthenticationToken"), PermanentAzureError, PermanentAzureError, ("HTTP 401", "ExpiredAuthenticationToken", "permanent")),
    Case("ARM 403 AuthorizationFailed", http_error(403, "AuthorizationFailed"), PermanentAzureError, PermanentAzureError, ("HTTP 403", "AuthorizationFailed", "req-123", "Grant the identity a role", "Microsoft.Web/sites/read")),
    Case("404 app or slot", http_error(404, "ResourceNotFound"), PermanentAzureError, PermanentAzureError, ("HTTP 404", "ResourceNotFound", "Check the subscription, resource group and app")),
    Case("409 conflict", http_error(409, "Conflict"), AzureRequestError, AzureRequestError, ("HTTP 409",)),
    Case("Key Vault 403", http_error(403, "Forbidden"), PermanentAzureError, PermanentAzureError, ("HTTP 403",)),
    Case("Key Vault 404", http_error(404, "SecretNotFound"), PermanentAzureError, PermanentAzureError, ("SecretNotFound",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "non-idempotent"])
def test_every_fault_gets_one_class_and_says_what_happened(case: Case, idempotent: bool) -> None:
    error = classify("Reading app 'shop'", case.exc, required_action="Microsoft.Web/sites/read", idempotent=idempotent)
    expected = case.idempotent if idempotent else case.non_idempotent
    assert type(error) is expected, f"{case.fault}: {type(error).__name__}: {error}"
    text = str(error)
    for fragment in case.says:
        assert fragment in text, f"{case.fault}: {fragment!r} missing from {text!r}"
    assert "refused by the test" in text or not isinstance(case.exc, HttpResponseError) or not case.exc.error
    assert "Trace ID" not in text, "never the token endpoint's body"


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_airflow_retries_exactly_the_transient_classes(case: Case) -> None:
    for idempotent in (True, False):
        error = classify("x", case.exc, idempotent=idempotent)
        decision = APP_SERVICE_RETRY_POLICY.evaluate(error, try_number=1, max_tries=3)
        expected = RetryAction.DEFAULT if type(error).retryable else RetryAction.FAIL
        assert decision.action is expected, f"{case.fault} -> {type(error).__name__}"


def test_an_already_classified_error_passes_through_unchanged() -> None:
    original = AuthenticationFailed("Authentication failed for x: the client secret is wrong (AADSTS7000215).")
    assert classify("x", original) is original


def test_an_ambiguous_failure_says_it_was_not_sent_again_and_what_to_do() -> None:
    text = str(classify("Restart of 'shop'", http_error(502), idempotent=False))
    assert "may have been applied" in text and "not sent again" in text and "clear the task" in text
    assert "req-123" in text


def _package_error_classes() -> list[type[BaseException]]:
    for info in pkgutil.walk_packages(airflow_provider_appservice.__path__, "airflow_provider_appservice."):
        if ".testing" not in info.name:
            importlib.import_module(info.name)
    found, stack = [], [AppServiceError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith("airflow_provider_appservice")]


def test_every_public_exception_lives_in_errors_py_and_none_retryable_derives_from_a_permanent_one() -> None:
    classes = _package_error_classes()
    assert {c.__module__ for c in classes} == {"airflow_provider_appservice.errors"}
    for cls in classes:
        if cls.retryable:
            permanent_parents = [p.__name__ for p in cls.__mro__[1:] if getattr(p, "retryable", True) is False]
            assert not permanent_parents, f"{cls.__name__} would be failed by the retry rule of {permanent_parents}"
    listed = {name.rsplit(".", 1)[1] for name in errors.NOT_RETRYABLE}
    assert listed == {c.__name__ for c in classes if not c.retryable}


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_a_trigger_reports_the_same_class_the_worker_raises(case: Case) -> None:
    """Through the event (JSON in the database) and back: class, message, status, code, request id."""
    error = classify("Reading app 'shop'", case.exc)
    event = json.loads(json.dumps(error.to_event()))
    assert event["status"] == "error", "the event's own status is never overwritten by the HTTP status"
    rebuilt = errors.from_event(event)
    assert type(rebuilt) is type(error) and str(rebuilt) == str(error)
    assert (getattr(rebuilt, "status", None), getattr(rebuilt, "code", None)) == (
        getattr(error, "status", None),
        getattr(error, "code", None),
    )


@pytest.mark.parametrize(
    "event",
    [
        {"status": "error", "error": "os.system", "message": "x"},
        {"status": "error", "error": "SystemExit", "message": "x"},
        {"status": "error", "error": ["PermanentAzureError"], "message": "x"},
        {"status": "error"},
        {"status": "error", "error": "PermanentAzureError", "message": {"nested": 1}, "status_code": object()},
    ],
    ids=["module-path", "builtin", "not-a-string", "empty", "odd-types"],
)
def test_an_event_read_back_is_untrusted(event: dict) -> None:
    rebuilt = errors.from_event(event, "the state trigger failed")
    assert isinstance(rebuilt, AppServiceError)
    assert type(rebuilt).__module__ == "airflow_provider_appservice.errors"
    if event.get("error") != "PermanentAzureError":
        assert type(rebuilt) is AppServiceError
    assert str(rebuilt) in ("x", "the state trigger failed")
