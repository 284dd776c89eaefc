"""Exceptions every layer raises: each says what happened and what to do about it.

They derive from Airflow's ``AirflowException`` so a task fails with the message as
written, never with a raw traceback from deep inside the Azure SDK.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException


class AppServiceError(AirflowException):
    """Base class of every error this provider raises on purpose."""


class ConnectionConfigError(AppServiceError):
    """The connection is wrong; raised before any network call.

    The message names the field and the fix.
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        super().__init__(f"Connection field '{field}': {problem}. Fix: {fix}")


class AuthenticationFailed(AppServiceError):
    """Entra ID refused to issue a token. Carries the AADSTS code, never the response body."""


class TokenPinningError(AppServiceError):
    """A token was about to be sent to a host it is not for; the request was not sent."""


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
        super().__init__(text)


class PermanentAzureError(AzureRequestError):
    """Azure refused in a way no retry fixes (400, 401, 403, 404, a permanent 409, ...).

    The operators' Airflow ``retry_policy`` fails these at once instead of burning retries.
    """


class AmbiguousOutcomeError(AppServiceError):
    """A non-idempotent call failed after it may have been applied, and state could not tell."""


class WaitTimeout(AppServiceError):
    """A bounded wait ran out: what was awaited, for how long, and the last state seen."""


class DeploymentFailed(AppServiceError):
    """Kudu or the runtime reported the deployment as failed: the message carries the last log
    lines and the log URL. A retry redeploys the same package, so it is not retried by Airflow."""

    def __init__(self, message: str, *, deployment_id: str | None, status: str, log_url: str | None) -> None:
        self.deployment_id = deployment_id
        self.status = status
        self.log_url = log_url
        super().__init__(message)


class PackageError(AppServiceError):
    """The package cannot be deployed as given (missing, unreadable, unknown type)."""


class KeyVaultReferenceError(AppServiceError):
    """A Key Vault reference did not resolve with the app's identity (a fix is needed, not a retry)."""
