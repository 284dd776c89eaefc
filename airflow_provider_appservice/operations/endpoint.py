"""Calling an app's own endpoints: which base URL, which hosts the token may reach, retries.

A ``base_url`` (an app behind Front Door, Application Gateway, HAProxy, F5) is accepted only
when its host is one the site reports or one the *connection's owner* listed in
``allowed_hosts``; a DAG cannot widen where a token goes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_appservice.boundary import classify, status_of, was_not_applied
from airflow_provider_appservice.clock import Clock, default_clock
from airflow_provider_appservice.errors import (
    AmbiguousOutcomeError,
    AzureRequestError,
    PermanentAzureError,
    TaskArgumentError,
)
from airflow_provider_appservice.identity.audiences import app_scope, canonical, check_allowed, easy_auth_audiences
from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.operations.sites import SiteInfo
from airflow_provider_appservice.transport.app import app_hosts
from airflow_provider_appservice.transport.backoff import Backoff
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.core.rest import HttpResponse
    from azure.mgmt.web import WebSiteManagementClient
    from azure.mgmt.web.aio import WebSiteManagementClient as AsyncWebSiteManagementClient

    from airflow_provider_appservice.operations.targets import AppTarget

log = logging.getLogger(__name__)

# Headers a caller may not set: they decide which token goes where (pinning holds for the wire).
RESERVED_HEADERS = frozenset({"host", "authorization", "proxy-authorization"})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def check_app_path(path: object, argument: str = "path") -> str:
    """A path on the app itself: it starts with one ``/`` and names no scheme or host, so it can
    never send a request (or a token) to another host through ``format_url``."""
    if isinstance(path, str) and not path.startswith("/") and ":" not in path.split("/", 1)[0]:
        path = f"/{path}"  # a relative path such as "api/x" means "/api/x", as it always did
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//") or "\\" in path:
        raise TaskArgumentError(argument, f"{str(path)[:100]!r} is not a path on the app", "use a path like /healthz")
    if any(ord(c) < 0x21 for c in path) or "://" in path:
        raise TaskArgumentError(argument, f"{path[:100]!r} is not a path on the app", "use a path like /healthz")
    # The HTTP client resolves "." and ".." (also %2E%2E) before sending: the path written is not the one sent.
    if any(unquote(segment) in (".", "..") for segment in path.split("?", 1)[0].split("/")):
        raise TaskArgumentError(argument, f"{path[:100]!r} has '.' or '..' segments", "give the path as it is meant")
    return path


#: Methods an endpoint call may use (anything else is a typo, or a method no app route serves).
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})


def check_method(method: object) -> str:
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise TaskArgumentError("method", f"is {str(method)[:20]!r}", f"use one of {', '.join(sorted(METHODS))}")
    return method.upper()


def check_expected_status(value: object) -> tuple[int, ...]:
    """Statuses an endpoint call counts as success: a non-empty list of HTTP statuses."""
    statuses = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else ()
    if not statuses or any(isinstance(s, bool) or not isinstance(s, int) or not 100 <= s < 600 for s in statuses):
        raise TaskArgumentError("expected_status", f"is {str(value)[:60]!r}", "give HTTP statuses, e.g. [200, 201]")
    return statuses


def check_positive(value: object, argument: str, *, allow_zero: bool = False) -> float:
    """A number of seconds or a count a task argument gives, refused before any call when not positive."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TaskArgumentError(argument, f"{value!r} is not a number", "give a number") from None
    if isinstance(value, bool) or number != number or number < 0 or (number == 0 and not allow_zero):
        raise TaskArgumentError(
            argument, f"{value!r} must be {'at least 0' if allow_zero else 'above 0'}", "give a positive number"
        )
    return number


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's headers, refused (before any request) when they set one the provider owns."""
    if headers is not None and not isinstance(headers, Mapping):
        raise TaskArgumentError("headers", f"is a {type(headers).__name__}", "pass a dict of header names to values")
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TaskArgumentError("headers", f"has a non-text name or value for {name!r}", "use text for both")
        if name.strip().lower() in RESERVED_HEADERS:
            raise TaskArgumentError(
                "headers",
                f"sets '{name}', which the provider owns (the token and the host it is pinned to)",
                "remove it; pass audience= for a token and base_url= for another allowed host",
            )
    return dict(headers or {})


@dataclass(frozen=True)
class AppEndpoint:
    base_url: str
    hosts: tuple[str, ...]


def check_base_url(base_url: str) -> str:
    """The host of a ``base_url``, after the checks that need no I/O: https, a host name, no
    user information or query. Raises TaskArgumentError before anything is sent."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        raise TaskArgumentError("base_url", "cannot be parsed", "use https://<host>[/<path>]") from None
    if parts.scheme != "https":
        raise TaskArgumentError(
            "base_url", f"must be an https URL, not {parts.scheme or 'a relative'} one", "use https://<host>"
        )
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise TaskArgumentError("base_url", "must name a host and no user information", "use https://<host>")
    if parts.query or parts.fragment:
        raise TaskArgumentError("base_url", "must not carry a query or fragment", "put them in path")
    if port not in (None, 443):
        raise TaskArgumentError("base_url", f"names port {port}; app tokens go to port 443 only", "drop the port")
    return parts.hostname.lower().rstrip(".")


def resolve_endpoint(site: SiteInfo, identity: IdentityConfig, base_url: str | None) -> AppEndpoint:
    """The base URL to call and the exact hosts a token may go to."""
    hosts = tuple(app_hosts(site.host_names) or [site.default_host_name])
    if not base_url:
        return AppEndpoint(f"https://{site.default_host_name}", hosts)
    host = check_base_url(base_url)
    if host not in hosts and host not in identity.allowed_hosts:
        raise TaskArgumentError(
            "base_url",
            f"host '{host}' is neither one of the app's host names nor in the connection's allowed_hosts",
            f"ask the owner of connection '{identity.conn_id}' to add it to allowed_hosts",
        )
    return AppEndpoint(base_url.rstrip("/"), hosts)


def _settings_call(apps: Any, target: AppTarget) -> Any:
    """The ``authsettingsV2`` read (without secrets: ``config/read`` is enough), sync or async client."""
    if target.slot:
        return apps.get_auth_settings_v2_without_secrets_slot(target.resource_group, target.app_name, target.slot)
    return apps.get_auth_settings_v2_without_secrets(target.resource_group, target.app_name)


def _audiences_of(settings: Any) -> frozenset[str]:
    """The audiences an ``authsettingsV2`` accepts; empty when Easy Auth or its Entra provider is off."""
    aad = getattr(settings.identity_providers, "azure_active_directory", None)
    if not (settings.platform and settings.platform.enabled) or aad is None or aad.enabled is False:
        return frozenset()
    client_id = aad.registration.client_id if aad.registration else None
    return easy_auth_audiences(client_id, aad.validation.allowed_audiences if aad.validation else None)


def _settings_failure(target: AppTarget, exc: Exception) -> Exception:
    verb = "Microsoft.Web/sites/slots/config/read" if target.slot else "Microsoft.Web/sites/config/read"
    return classify(f"Reading the Easy Auth settings of '{target.label}'", exc, required_action=verb)


def _needs_easy_auth(identity: IdentityConfig, scope: str | None) -> bool:
    """Whether the allow-rule must ask ARM: the floor first (a scope read back from storage is
    untrusted), then the connection's own ``allowed_audiences`` (no read needed)."""
    if scope is None:
        return False
    app_scope(scope)
    return canonical(scope) not in identity.allowed_audiences


def check_app_audience(
    client: WebSiteManagementClient, target: AppTarget, identity: IdentityConfig, scope: str | None
) -> None:
    """The allow-rule for an app token (``identity.audiences``): one of the app's Easy Auth
    audiences or in the connection's ``allowed_audiences``; decided before any token request."""
    from azure.core.exceptions import HttpResponseError

    if not _needs_easy_auth(identity, scope):
        return
    assert scope is not None
    try:
        settings = _settings_call(client.web_apps, target)
    except HttpResponseError as exc:
        raise _settings_failure(target, exc) from None
    check_allowed(scope, _audiences_of(settings), identity.allowed_audiences, identity.conn_id)


async def acheck_app_audience(
    client: AsyncWebSiteManagementClient, target: AppTarget, identity: IdentityConfig, scope: str | None
) -> None:
    """Async twin of :func:`check_app_audience`, for triggers (their kwargs are untrusted)."""
    from azure.core.exceptions import HttpResponseError

    if not _needs_easy_auth(identity, scope):
        return
    assert scope is not None
    try:
        settings = await _settings_call(client.web_apps, target)
    except HttpResponseError as exc:
        raise _settings_failure(target, exc) from None
    check_allowed(scope, _audiences_of(settings), identity.allowed_audiences, identity.conn_id)


@dataclass
class CallResult:
    response: HttpResponse
    attempts: int
    elapsed: float
    repeatable: bool = True  # idempotent method or an Idempotency-Key: safe to send again


def call_app(
    client: PipelineClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    data: Any = None,
    headers: Mapping[str, str] | None = None,
    idempotency_key: bool = False,
    timeout: float = 60.0,
    backoff: Backoff,
    max_attempts: int,
    clock: Clock | None = None,
    logger: logging.Logger | Any = log,
) -> CallResult:
    """Send one request to the app; 429/5xx are retried (honouring Retry-After) when safe.

    A non-idempotent method is retried only with an ``Idempotency-Key`` header, which the
    app can use to drop duplicates; without one, only a 429 (refused before acting) is retried.
    """
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from azure.core.rest import HttpRequest

    clock = clock or default_clock()
    method = method.upper()
    request_headers, safe_to_repeat = _request_headers(method, headers, idempotency_key)
    url = client.format_url(path if path.startswith("/") else f"/{path}")
    what = f"{method} {urlsplit(url).path}"
    attempts = 0
    started = clock.now()
    response: HttpResponse | None = None
    try:
        for attempt in retrying(
            what,
            retry_on=_retry_rule(safe_to_repeat),
            backoff=backoff,
            max_attempts=max_attempts,
            clock=clock,
            logger=logger,
        ):
            with attempt:
                attempts += 1
                request = HttpRequest(method, url, json=json, data=data, headers=request_headers)
                response = client.send_request(request, connection_timeout=min(timeout, 30), read_timeout=timeout)
                if response.status_code in RETRY_STATUSES:
                    raise _RetryableStatus(response)
    except _RetryableStatus as exc:  # out of attempts (or not safe to repeat): report the last answer
        response = exc.response
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise _unanswered(what, exc, safe_to_repeat) from None
    assert response is not None
    return CallResult(response, attempts, clock.now() - started, safe_to_repeat)


def _request_headers(
    method: str, headers: Mapping[str, str] | None, idempotency_key: bool
) -> tuple[dict[str, str], bool]:
    """The headers to send (one ``Idempotency-Key`` for every attempt when asked for) and whether
    the request is safe to send again (an idempotent method, or keyed so the app drops duplicates)."""
    request_headers = check_headers(headers)
    has_key = any(k.lower() == "idempotency-key" for k in request_headers)
    if idempotency_key and method not in IDEMPOTENT_METHODS and not has_key:
        request_headers["Idempotency-Key"] = str(uuid.uuid4())
        has_key = True
    return request_headers, method in IDEMPOTENT_METHODS or has_key


def _retry_rule(safe_to_repeat: bool) -> Callable[[BaseException], bool]:
    """Which failures of this call may be sent again (decided once, here)."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    def retryable(exc: BaseException) -> bool:
        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            # Through a proxy a reset after sending is a ServiceRequestError too: only a request
            # that certainly never left (boundary.was_not_applied) may be sent again unkeyed.
            return safe_to_repeat or was_not_applied(exc)
        status = status_of(exc)
        return status == 429 or (safe_to_repeat and status in RETRY_STATUSES)

    return retryable


def _unanswered(what: str, exc: BaseException, safe_to_repeat: bool) -> Exception:
    """A call that got no answer, through the boundary; an unkeyed one that may have acted says how to key it."""
    error = classify(what, exc, idempotent=safe_to_repeat)
    if isinstance(error, AmbiguousOutcomeError):
        return AmbiguousOutcomeError(f"{error} Pass idempotency_key=True if the app drops duplicate requests.")
    return error


class _RetryableStatus(Exception):
    """Carries a 429/5xx response through tenacity (``status_code`` and ``response`` like azure-core)."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.status_code = response.status_code


def raise_for_unexpected(result: CallResult, expected_status: tuple[int, ...], what: str) -> None:
    status = result.response.status_code
    if status in expected_status:
        return
    request_id = result.response.headers.get("x-ms-request-id") or result.response.headers.get("x-request-id")
    # A redirect (e.g. Easy Auth's login page) or a 4xx is an answer no retry changes.
    kind = PermanentAzureError if 300 <= status < 500 and status not in (408, 429) else AzureRequestError
    location = result.response.headers.get("Location", "")
    message = f"expected {', '.join(map(str, expected_status))}"
    if 300 <= status < 400:
        message += f"; got a redirect to {urlsplit(location).netloc or 'elsewhere'} (not followed)"
    if status == 401:
        message += (
            "; the app (Easy Auth, or a function key check) refused the caller. Without `audience` the call "
            "carries no token: set it to the app's Easy Auth audience (api://<client-id>). With one, the token's "
            "audience is not one the app accepts: compare `audience` with the app's allowed audiences"
        )
    if status >= 500 and not result.repeatable:
        # The app may have acted before failing: neither this call nor an Airflow retry re-sends it.
        raise AmbiguousOutcomeError(
            f"{what} failed, HTTP {status}: {message} (request id {request_id}); the app may have acted on it, "
            "so it was not re-sent. Pass idempotency_key=True if the app drops duplicate requests."
        )
    raise kind(what, status=status, code=None, message=message, request_id=request_id)
