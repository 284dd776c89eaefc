"""Was a failed swap POST applied? ``was_not_applied`` and ``is_ambiguous``, one table each.

Every failure is made by the real SDK, azure-core, requests and urllib3 (see
:mod:`tests.unit.azure_failures`); only urllib3's connection pool is replaced, so the chain
each function reads is the one production gets.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from http.client import RemoteDisconnected
from typing import Any

import pytest
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from airflow_provider_appservice.boundary import is_ambiguous, was_not_applied
from tests.unit.azure_failures import answer, arm_error, caused, swap_failure

HOST = "management.azure.com"
Outcome = Callable[[], Any]  # what urllib3's connection pool does; fresh per test (a body is read once)


def refused() -> BaseException:
    return caused(
        NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused"),
        ConnectionRefusedError(111, "Connection refused"),
    )


def dns() -> BaseException:
    reason = socket.gaierror(-2, "Name or service not known")
    return caused(NameResolutionError(HOST, None, reason), reason)  # type: ignore[arg-type]


def connect_timeout() -> BaseException:
    return ConnectTimeoutError(None, f"Connection to {HOST} timed out. (connect timeout=300)")


def proxy(reason: BaseException) -> Callable[[], BaseException]:
    return lambda: ProxyError("Unable to connect to proxy", reason)


def aborted(reason: BaseException) -> Callable[[], BaseException]:
    return lambda: ProtocolError("Connection aborted.", reason)


def closed() -> BaseException:
    return RemoteDisconnected("Remote end closed connection without response")


def reset() -> BaseException:
    return ConnectionResetError(104, "Connection reset by peer")


def read_timeout() -> BaseException:
    return ReadTimeoutError(None, f"https://{HOST}", "Read timed out. (read timeout=300)")  # type: ignore[arg-type]


def tls_eof() -> BaseException:
    return SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)"))


def status(code: int, error: str, headers: dict[str, str] | None = None) -> Outcome:
    return lambda: arm_error(code, error, headers)


def accepted_then_cut() -> Any:
    """202 Accepted with a Location, then the connection drops inside the body."""
    return answer(202, b'{"status": "InProgress"', {"Location": f"https://{HOST}/op"}, length=64)


# (what the connection pool does, expected answer, why)
NOT_APPLIED_CASES = [
    pytest.param(refused, True, "the TCP connection was refused: nothing was sent", id="refused"),
    pytest.param(dns, True, "the host name did not resolve: nothing was sent", id="dns"),
    pytest.param(connect_timeout, True, "no connection was made within the timeout", id="connect-timeout"),
    pytest.param(proxy(refused()), True, "the proxy refused the connection: nothing was sent", id="proxy-refused"),
    pytest.param(
        proxy(closed()), False, "urllib3 calls a cut after sending through the proxy this too", id="proxy-closed"
    ),
    pytest.param(proxy(reset()), False, "a reset through the proxy may follow the request", id="proxy-reset"),
    pytest.param(
        proxy(OSError("Tunnel connection failed: 403 Forbidden")),
        False,
        "conservative: a refused CONNECT is not among the proofs",
        id="proxy-tunnel-refused",
    ),
    pytest.param(aborted(reset()), False, "reset after the request was sent", id="reset-after-send"),
    pytest.param(aborted(closed()), False, "closed without an answer after the request", id="closed-after-send"),
    pytest.param(aborted(BrokenPipeError(32, "Broken pipe")), False, "cut while sending", id="broken-pipe"),
    pytest.param(read_timeout, False, "sent, and no answer in time", id="read-timeout"),
    pytest.param(tls_eof, False, "conservative: a TLS failure is no proof", id="tls-eof"),
    pytest.param(status(429, "TooManyRequests", {"Retry-After": "7"}), True, "throttled before execution", id="429"),
    pytest.param(status(503, "ServiceUnavailable"), True, "refused before execution", id="503"),
    pytest.param(status(500, "InternalServerError"), False, "may have failed after acting", id="500"),
    pytest.param(status(504, "GatewayTimeout"), False, "the backend may still be swapping", id="504"),
    pytest.param(status(400, "BadRequest"), False, "a refusal, but not one that invites a re-send", id="400"),
    pytest.param(status(409, "Conflict"), False, "another swap runs: not a reason to re-send", id="409"),
    pytest.param(accepted_then_cut, False, "Azure accepted the swap", id="202-body-cut"),
]

AMBIGUOUS_CASES = [
    pytest.param(refused, False, "nothing was sent", id="refused"),
    pytest.param(dns, False, "nothing was sent", id="dns"),
    pytest.param(connect_timeout, False, "nothing was sent", id="connect-timeout"),
    pytest.param(proxy(refused()), False, "the proxy refused: nothing was sent", id="proxy-refused"),
    pytest.param(proxy(closed()), True, "the cut may follow the request", id="proxy-closed"),
    pytest.param(proxy(reset()), True, "the reset may follow the request", id="proxy-reset"),
    pytest.param(
        proxy(OSError("Tunnel connection failed: 403 Forbidden")),
        True,
        "conservative: state decides",
        id="proxy-tunnel-refused",
    ),
    pytest.param(aborted(reset()), True, "reset after the request was sent", id="reset-after-send"),
    pytest.param(aborted(closed()), True, "closed without an answer", id="closed-after-send"),
    pytest.param(aborted(BrokenPipeError(32, "Broken pipe")), True, "part or all of it was sent", id="broken-pipe"),
    pytest.param(read_timeout, True, "sent, no answer in time", id="read-timeout"),
    pytest.param(tls_eof, True, "conservative: state decides", id="tls-eof"),
    pytest.param(status(429, "TooManyRequests", {"Retry-After": "7"}), False, "proved not applied", id="429"),
    pytest.param(status(503, "ServiceUnavailable"), False, "proved not applied", id="503"),
    pytest.param(status(500, "InternalServerError"), True, "may have failed after acting", id="500"),
    pytest.param(status(502, "BadGateway"), True, "the gateway lost the backend's answer", id="502"),
    pytest.param(status(504, "GatewayTimeout"), True, "the backend may still be swapping", id="504"),
    pytest.param(status(400, "BadRequest"), False, "a definite refusal", id="400"),
    pytest.param(status(403, "AuthorizationFailed"), False, "a definite refusal", id="403"),
    pytest.param(status(404, "ResourceNotFound"), False, "ResourceNotFoundError: a definite answer", id="404"),
    pytest.param(status(409, "Conflict"), False, "ResourceExistsError: a definite answer", id="409"),
    pytest.param(
        accepted_then_cut,
        True,
        "Azure answered 202 Accepted before the body was cut: the swap was accepted",
        id="202-body-cut",
    ),
]


@pytest.mark.parametrize(("outcome", "expected", "why"), NOT_APPLIED_CASES)
def test_was_not_applied(outcome: Outcome, expected: bool, why: str) -> None:
    exc = swap_failure(outcome())
    assert was_not_applied(exc) is expected, f"{type(exc).__name__}: {why}"


@pytest.mark.parametrize(("outcome", "expected", "why"), AMBIGUOUS_CASES)
def test_is_ambiguous(outcome: Outcome, expected: bool, why: str) -> None:
    exc = swap_failure(outcome())
    assert is_ambiguous(exc) is expected, f"{type(exc).__name__}: {why}"


def test_the_failures_are_the_ones_azure_core_raises() -> None:
    """The harness is only worth its rows if the chains are the real ones."""
    from azure.core.exceptions import (
        HttpResponseError,
        IncompleteReadError,
        ResourceExistsError,
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    assert type(swap_failure(refused())) is ServiceRequestError
    assert type(swap_failure(connect_timeout())) is ServiceRequestTimeoutError
    assert type(swap_failure(proxy(closed())())) is ServiceRequestError  # why the chain must be read
    assert type(swap_failure(aborted(reset())())) is ServiceResponseError
    assert type(swap_failure(read_timeout())) is ServiceResponseTimeoutError
    assert type(swap_failure(arm_error(409, "Conflict"))) is ResourceExistsError
    throttled = swap_failure(arm_error(429, "TooManyRequests", {"Retry-After": "7"}))
    assert type(throttled) is HttpResponseError
    assert throttled.response.headers["Retry-After"] == "7"  # type: ignore[union-attr]
    assert type(swap_failure(accepted_then_cut())) is IncompleteReadError
