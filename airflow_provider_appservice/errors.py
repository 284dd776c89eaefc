"""Every public exception of the provider: each says what happened and what to do about it.

They derive from Airflow's ``AirflowException`` so a task fails with the message as
written, never with a raw traceback from deep inside the Azure SDK. ``retryable`` says
whether an Airflow retry can help; the operators' ``retry_policy`` is built from it
(:data:`NOT_RETRYABLE`), and ``boundary.classify`` is the one place that picks a class for
an Azure or Entra failure. ``docs/errors.md`` lists them in a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from airflow.sdk.exceptions import AirflowException


class AppServiceError(AirflowException):
    """Base class of every error this provider raises on purpose."""

    retryable: ClassVar[bool] = True

    def to_event(self) -> dict[str, Any]:
        """The error as a trigger event's fields, so the task raises the same class (see :func:`from_event`)."""
        fields = {key: getattr(self, attribute, None) for attribute, key in _EVENT_ATTRIBUTES.items()}
        return {**fields, "status": "error", "error": type(self).__name__, "message": str(self)}


class ConnectionConfigError(AppServiceError):
    """The connection is wrong; raised before any network call.

    The message names the field and the fix.
    """

    retryable = False

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        super().__init__(f"Connection field '{field}': {problem}. Fix: {fix}")


class TaskArgumentError(AppServiceError, ValueError):
    """A task argument (or what a template rendered it to) is wrong; raised before any network call.

    The message names the argument and the fix. Also a ``ValueError``, which is what it is.
    """

    retryable = False

    def __init__(self, argument: str, problem: str, fix: str) -> None:
        self.argument = argument
        super().__init__(f"Argument '{argument}': {problem}. Fix: {fix}")


class AuthenticationFailed(AppServiceError):
    """Entra ID refused to issue a token. Carries the AADSTS code, never the response body."""

    retryable = False


class TokenPinningError(AppServiceError):
    """A token was about to be sent to a host it is not for; the request was not sent."""

    retryable = False


class AzureRequestError(AppServiceError):
    """Azure answered with an error: status, error code and request id, for support tickets.

    Transient by default (throttling, outages): an Airflow retry may help.
    """

    def __init__(
        self,
        action: str,
        *,
        status: int | None,
        code: str | None,
        message: str,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.action = action
        self.status = status
        self.code = code
        self.request_id = request_id
        self.hint = hint
        parts = [f"{action} failed"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code:
            parts.append(code)
        text = ": ".join([", ".join(parts), message]) if message else ", ".join(parts)
        if request_id:
            text += f" (request id {request_id})"
        if hint:
            text += f". {hint}"
        text += " [transient: an Airflow retry may help]" if self.retryable else " [permanent: a retry cannot help]"
        super().__init__(text)


class PermanentAzureError(AzureRequestError):
    """Azure refused in a way no retry fixes (400, 401, 403, 404, a permanent 409, ...).

    The operators' Airflow ``retry_policy`` fails these at once instead of burning retries.
    """

    retryable = False


class AuthenticationUnavailable(AzureRequestError):
    """Entra ID (or the managed-identity endpoint) did not answer or answered 5xx: transient."""


class AmbiguousOutcomeError(AppServiceError):
    """A non-idempotent call failed after it may have been applied, and state could not tell."""

    retryable = False


class WaitTimeout(AppServiceError):
    """A bounded wait ran out: what was awaited, for how long, and the last state seen."""


class DeploymentFailed(AppServiceError):
    """Kudu or the runtime reported the deployment as failed: the message carries the last log
    lines and the log URL. A retry redeploys the same package, so it is not retried by Airflow."""

    retryable = False

    def __init__(self, message: str, *, deployment_id: str | None, status: str, log_url: str | None) -> None:
        self.deployment_id = deployment_id
        self.status = status
        self.log_url = log_url
        super().__init__(message)


class DeploymentRefused(PermanentAzureError):
    """Kudu refuses deployments in this configuration (e.g. WEBSITE_RUN_FROM_PACKAGE is a URL)."""


class DeploymentTimeout(WaitTimeout):
    """The deployment did not finish within ``timeout``; an Airflow retry reconnects to it."""


class SwapInProgressError(AzureRequestError):
    """Another swap, or a swap with preview, is under way on the app (409 or ``targetSwapSlot``)."""


class SettingsRaceError(AppServiceError):
    """The re-read after a write did not show this task's change: another writer raced it."""


class KeyVaultReferenceTimeout(WaitTimeout):
    """Key Vault references were still pending when the bound ran out (a later retry may pass)."""


class PackageError(AppServiceError):
    """The package cannot be deployed as given (missing, unreadable, unknown type)."""

    retryable = False


class KeyVaultReferenceError(AppServiceError):
    """A Key Vault reference did not resolve with the app's identity (a fix is needed, not a retry)."""

    retryable = False


def _public_errors() -> list[type[AppServiceError]]:
    found: list[type[AppServiceError]] = []
    stack: list[type[AppServiceError]] = [AppServiceError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


# The classes an Airflow retry cannot help, by dotted name (what ``RetryRule`` takes; it matches
# subclasses too, so no retryable class may derive from one of these: a unit test checks).
NOT_RETRYABLE: tuple[str, ...] = tuple(
    f"{cls.__module__}.{cls.__qualname__}"
    for cls in _public_errors()
    if not cls.retryable and cls.__module__ == __name__
)


# What an error event may carry besides its class and message (names and numbers only), by
# attribute and event key: the HTTP status travels as "http_status", since "status" is the event's.
_EVENT_ATTRIBUTES = {"status": "http_status", "code": "code", "request_id": "request_id"}


def from_event(event: Mapping[str, Any], default: str = "the trigger failed") -> AppServiceError:
    """Rebuild the error a trigger reported, as the same class the worker path raises.

    A trigger event is stored in the database and read back: untrusted. Only a class name of
    this module's public errors is honoured (anything else becomes ``AppServiceError``), and
    only string or integer attributes are copied; the constructor of the class is bypassed
    because the message was already composed by it in the triggerer.
    """
    by_name = {cls.__name__: cls for cls in _public_errors()}
    cls = by_name.get(str(event.get("error") or ""), AppServiceError)
    message = event.get("message")
    error = cls.__new__(cls)
    AirflowException.__init__(error, str(message) if isinstance(message, str) and message else default)
    for attribute, key in _EVENT_ATTRIBUTES.items():
        value = event.get(key)
        setattr(error, attribute, value if isinstance(value, (str, int)) and not isinstance(value, bool) else None)
    return error
