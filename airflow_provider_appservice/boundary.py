"""The one error boundary: every Azure or Entra failure is classified here, and nowhere else.

Each call site that talks to Azure catches the SDK's exception where the call returns and
hands it to :func:`classify`, which returns one of the provider's errors (``errors.py``):
transient ``AzureRequestError`` (an Airflow retry may help), ``PermanentAzureError``,
``AmbiguousOutcomeError`` (a non-idempotent call may have been applied), or, for a token that
could not be had, ``AuthenticationFailed`` / ``AuthenticationUnavailable``. The same failure
gets the same class on every path (worker, poke, trigger, hook method) because they all
come here. "Was it applied?" (:func:`was_not_applied`, :func:`is_ambiguous`) lives here too.

A neutral module below ``identity/``: it imports nothing of the provider but ``errors``, and
``azure.core`` only inside functions (DAG files import operators, which must stay cheap).
"""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_provider_appservice.errors import (
    AmbiguousOutcomeError,
    AppServiceError,
    AuthenticationFailed,
    AuthenticationUnavailable,
    AzureRequestError,
    PermanentAzureError,
)

# Statuses that say the request was understood and refused: retrying cannot help.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 412, 413, 415, 422})
# Statuses a non-idempotent call may have been applied before: 500/502/504 come from behind
# the front door; 429 and 503 are refusals before execution (ARM throttling, the gateway).
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
NOT_APPLIED_STATUSES = frozenset({429, 503})

# ARM's 403 names the scope it checked; a mistyped name gets the same answer as a missing role.
_SCOPE_IN_403 = re.compile(r"over scope '([^']+)' or the scope is invalid", re.IGNORECASE)

# -- what a failure says -----------------------------------------------------------------------


def status_of(exc: BaseException | None) -> int | None:
    return getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)


def request_id_of(response: Any) -> str | None:
    headers = getattr(response, "headers", None) or {}
    return (
        headers.get("x-ms-request-id")
        or headers.get("x-ms-correlation-request-id")
        or headers.get("request-id")
        or headers.get("x-request-id")
    )


def parse_error_body(text: str) -> tuple[str | None, str]:
    """Return (code, message) from an ARM or Microsoft.Web error body; (None, '') if neither.

    ARM answers ``{"error": {"code", "message"}}``; Microsoft.Web answers PascalCase
    ``{"Code", "Message", ...}`` (recorded real traffic).
    """
    try:
        body: Any = json.loads(text)
    except (TypeError, ValueError):
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    error = body.get("error")
    inner: dict[str, Any] = error if isinstance(error, dict) else body
    code = inner.get("code") or inner.get("Code")
    message = inner.get("message") or inner.get("Message") or ""
    return (str(code) if code else None), str(message)


def forbidden_hint(required_action: str | None, message: str) -> str:
    """The fix for an ARM 403: the role covering the whole task (``permissions``) and, when
    Azure says "or the scope is invalid", the other cause — a mistyped name — with the scope's
    parts spelt out so a typo like ``rg-shopp`` stands out."""
    from airflow_provider_appservice.permissions import role_hint

    hint = role_hint(required_action)
    match = _SCOPE_IN_403.search(message or "")
    if not match:
        return hint
    parts = [p for p in match.group(1).strip("/").split("/") if p]
    labels = {"subscriptions": "subscription", "resourcegroups": "resource group", "sites": "app", "slots": "slot"}
    named = [f"{labels[k.lower()]} '{v}'" for k, v in zip(parts[::2], parts[1::2], strict=False) if k.lower() in labels]
    return (
        f"Either the identity lacks a role or a name in the scope is wrong (Azure answers both alike). "
        f"{hint}. Or check the names: {', '.join(named) or match.group(1)}"
    )


# -- was it applied? ---------------------------------------------------------------------------

# Exception names in a failure's chain: never connected, or cut off after sending.
_NOT_SENT = frozenset({"NewConnectionError", "ConnectTimeoutError", "NameResolutionError", "ConnectionRefusedError"})
_CUT_OFF = frozenset(
    {"RemoteDisconnected", "ProtocolError", "ConnectionResetError", "BrokenPipeError", "ConnectionAbortedError"}
)


def error_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (azure-core ``inner_exception``, requests/urllib3 ``reason``)."""
    seen: dict[int, BaseException] = {}
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen[id(current)] = current
        stack.extend(
            [
                getattr(current, "inner_exception", None),
                getattr(current, "reason", None),
                current.__cause__,
                current.__context__,
                *current.args,
            ]
        )
    return list(seen.values())


def was_not_applied(exc: BaseException) -> bool:
    """True only when Azure certainly did not act on the request: 429/503 (refused before
    execution) or a connection that was never made (refused, DNS, connect timeout).

    Stricter than "any ServiceRequestError": through an HTTPS proxy, urllib3 reports a connection
    cut *after* the request was sent as ``ProxyError('Unable to connect to proxy',
    RemoteDisconnected(...))``, which azure-core maps to ServiceRequestError — that one is ambiguous.
    """
    from azure.core.exceptions import ServiceRequestError

    if status_of(exc) in NOT_APPLIED_STATUSES:
        return True
    if not isinstance(exc, ServiceRequestError):
        return False
    names = {type(e).__name__ for e in error_chain(exc)}
    return not (names & _CUT_OFF) and bool(names & _NOT_SENT)


def is_ambiguous(exc: BaseException) -> bool:
    """A non-idempotent call may have been applied before this failure (never send it blindly again)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if was_not_applied(exc):
        return False
    if isinstance(exc, (ServiceResponseError, ServiceRequestError)):
        return True
    if isinstance(exc, ClientAuthenticationError) and status_of(exc) is None:
        return False  # no token: nothing was sent
    if isinstance(exc, HttpResponseError) and status_of(exc) is None:
        return True  # an answer cut mid-body (IncompleteReadError, a broken chunk): Azure had answered
    return isinstance(exc, HttpResponseError) and status_of(exc) in AMBIGUOUS_STATUSES


# -- Entra ID ----------------------------------------------------------------------------------

_AADSTS = re.compile(r"AADSTS(\d{5,7})")
_ENTRA_STATUS = re.compile(r"HTTP Error: (\d{3})")

# AADSTS code -> (what happened, which field to fix)
KNOWN_AADSTS: dict[str, tuple[str, str]] = {
    "7000215": ("the client secret is wrong", "Client secret (password)"),
    "7000222": ("the client secret has expired", "Client secret (password): create a new secret"),
    "700016": ("no application with this client ID exists in the tenant", "Client ID (login) or tenant_id"),
    "90002": ("the tenant does not exist", "tenant_id"),
    "900023": ("the tenant ID is not valid", "tenant_id"),
    "700027": ("the certificate assertion's signature did not verify", "client_certificate_private_key"),
    "700024": ("the client assertion is outside its valid time range", "the worker's clock"),
    "70021": (
        "no federated credential on the app registration matches the presented token",
        "the app registration's federated credentials (issuer, subject, audience)",
    ),
    "700213": ("no federated credential matches the token's subject", "the federated credential's subject"),
    "500011": ("the requested audience is not known in the tenant", "the audience or tenant_id"),
    "501051": (
        "the app requires an app role assignment and this identity has none",
        "the API's app roles: assign one to this identity",
    ),
}


def classify_auth(exc: BaseException, *, who: str, context: str = "") -> AppServiceError:
    """A token could not be had: AADSTS refusals are permanent, an unavailable Entra ID is transient.

    Never includes the token endpoint's response body (azure-identity embeds it in its text);
    only the AADSTS code, the status and a fix. ``context`` is the caller's extra sentence for
    failures without a code (e.g. "no managed identity answered on this machine").
    """
    if isinstance(exc, AppServiceError):
        return exc
    text = str(exc)
    status = _ENTRA_STATUS.search(text)
    match = _AADSTS.search(text)
    if status and (int(status.group(1)) >= 500 or int(status.group(1)) == 429):  # whatever code came with it
        return AuthenticationUnavailable(
            f"Getting a token for {who}",
            status=int(status.group(1)),
            code=f"AADSTS{match.group(1)}" if match else None,
            message="Entra ID is unavailable",
            hint="This is on Azure's side; the task is retried",
        )
    if match:
        code = match.group(1)
        what, fix = KNOWN_AADSTS.get(code, ("Entra ID refused the request", "the connection's identity fields"))
        return AuthenticationFailed(f"Authentication failed for {who}: {what} (AADSTS{code}). Check {fix}.")
    if context:
        return AuthenticationFailed(f"Authentication failed for {who}: {context}")
    if _is_unreachable(exc):
        return AuthenticationUnavailable(
            f"Getting a token for {who}",
            status=None,
            code=None,
            message=f"Entra ID did not answer ({_unreachable_reason(exc)})",
            hint="Check the network path to the cloud's login host; the task is retried",
        )
    return AuthenticationFailed(f"Authentication failed for {who} ({type(exc).__name__}).")


def _is_unreachable(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in error_chain(exc)} | {_unreachable_reason(exc)}
    return bool(names & (_NOT_SENT | _CUT_OFF | {"SSLEOFError", "SSLError", "TimeoutError", "ReadTimeoutError"}))


def _unreachable_reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "eof occurred" in text or "connection reset" in text or "connection aborted" in text:
        return "ConnectionResetError"
    if "timed out" in text:
        return "TimeoutError"
    if "connection refused" in text or "failed to establish" in text:
        return "ConnectionRefusedError"
    return type(exc).__name__


# -- Azure answers -----------------------------------------------------------------------------


def failure_facts(exc: BaseException) -> str:
    """What a failed call got, for messages built outside :func:`classify` (an ambiguous write
    settled by state): the status, Azure's error code and the request id, or what broke."""
    status = status_of(exc)
    response = getattr(exc, "response", None)
    code, _ = _code_and_message(exc, response)
    parts = [f"HTTP {status}" if status else _unreachable_reason(exc)]
    if code:
        parts.append(code)
    request_id = request_id_of(response)
    if request_id:
        parts.append(f"request id {request_id}")
    return ", ".join(parts)


def classify(
    action: str,
    exc: BaseException,
    *,
    required_action: str | None = None,
    idempotent: bool = True,
    hint: str | None = None,
    not_found_hint: str | None = None,
) -> AppServiceError:
    """The provider's error for a failed Azure call: what, status, code, request id, and the fix.

    ``idempotent=False`` marks a call that must not be sent twice: a failure after which it may
    have been applied becomes ``AmbiguousOutcomeError`` (never retried by Airflow).
    """
    if isinstance(exc, AppServiceError):
        return exc
    from azure.core.exceptions import ClientAuthenticationError

    status = status_of(exc)
    if isinstance(exc, ClientAuthenticationError) and status is None:  # from a credential, not from ARM
        return classify_auth(exc, who="the connection's identity")
    response = getattr(exc, "response", None)
    request_id = request_id_of(response)
    code, message = _code_and_message(exc, response)
    if not idempotent and is_ambiguous(exc):
        detail = f"HTTP {status}" if status else _unreachable_reason(exc)
        if code:
            detail += f", {code}" + (f": {message}" if message else "")
        return AmbiguousOutcomeError(
            f"{action} failed after the request may have been applied ({detail}"
            + (f", request id {request_id}" if request_id else "")
            + "). It was not sent again. Check the app's state, then clear the task to try again."
        )
    if status is None and not code:
        reason = _unreachable_reason(exc)
        message = message or f"no answer from Azure ({reason})"
    if status == 403 and hint is None:
        hint = forbidden_hint(required_action, message)
    if status == 404 and hint is None:
        hint = not_found_hint or "Check the subscription, resource group and app (and slot) names"
    kind = PermanentAzureError if status in PERMANENT_STATUSES else AzureRequestError
    return kind(action, status=status, code=code, message=message, request_id=request_id, hint=hint)


def _code_and_message(exc: BaseException, response: Any) -> tuple[str | None, str]:
    code: str | None = None
    message = ""
    if response is not None:
        try:
            code, message = parse_error_body(response.text())
        except Exception:  # a streamed or undecodable body: status and id still say enough
            code, message = None, ""
    error = getattr(exc, "error", None)
    if code is None and error is not None:
        code = getattr(error, "code", None)
        message = message or getattr(error, "message", "") or ""
    return code, message


def classify_response(action: str, response: Any, *, hint: str | None = None) -> AzureRequestError:
    """A non-2xx answer from a pipeline (Kudu, an app) as the provider's error, like :func:`classify`."""
    status = response.status_code
    try:
        text = str(response.text())[:500].strip()
    except Exception:
        text = ""
    code, message = parse_error_body(text)
    kind = PermanentAzureError if status in PERMANENT_STATUSES else AzureRequestError
    return kind(
        action, status=status, code=code, message=message or text, request_id=request_id_of(response), hint=hint
    )
