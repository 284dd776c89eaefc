"""Turn an azure-core error into an AzureRequestError: status, error code, request id.

ARM answers ``{"error": {"code", "message"}}`` but Microsoft.Web answers PascalCase
``{"Code", "Message", ...}`` (recorded real traffic); both are read here so every layer
above can rely on ``.status``, ``.code`` and ``.request_id``.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_appservice.errors import AzureRequestError, PermanentAzureError

# Built-in roles that grant an ARM action, for 403 hints (least privilege first).
ROLE_HINTS: dict[str, str] = {
    "Microsoft.Web/sites/read": "Reader",
    "Microsoft.Web/sites/slots/read": "Reader",
    "Microsoft.Web/sites/deploymentStatus/read": "Reader",
}
# Statuses that say the request was understood and refused: retrying cannot help.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 412, 413, 415, 422})
DEFAULT_WRITE_ROLE = "Website Contributor"


def parse_error_body(text: str) -> tuple[str | None, str]:
    """Return (code, message) from an ARM or Microsoft.Web error body; ('', '') if neither."""
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


def role_hint(action: str | None) -> str:
    if not action:
        return f"Grant the identity a role that allows it, e.g. '{DEFAULT_WRITE_ROLE}' on the app"
    role = ROLE_HINTS.get(action, DEFAULT_WRITE_ROLE)
    return f"Grant the identity a role that allows '{action}', e.g. the built-in role '{role}'"


def from_azure_error(action: str, exc: Exception, *, required_action: str | None = None) -> AzureRequestError:
    """Describe a failed Azure call for a task log: what, status, code, request id, fix."""
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    request_id = None
    code: str | None = None
    message = ""
    if response is not None:
        headers = getattr(response, "headers", {}) or {}
        request_id = headers.get("x-ms-request-id") or headers.get("x-ms-correlation-request-id")
        try:
            code, message = parse_error_body(response.text())
        except Exception:  # a streamed or undecodable body: status and id still say enough
            code, message = None, ""
    error = getattr(exc, "error", None)
    if code is None and error is not None:
        code = getattr(error, "code", None)
        message = message or getattr(error, "message", "") or ""
    if status is None and not code:
        message = f"{type(exc).__name__} (no answer from Azure)"
    hint = role_hint(required_action) if status == 403 else None
    kind = PermanentAzureError if status in PERMANENT_STATUSES else AzureRequestError
    return kind(action, status=status, code=code, message=message, request_id=request_id, hint=hint)
