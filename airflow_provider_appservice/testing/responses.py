"""Response helpers in the three error dialects Azure speaks, plus per-request notes.

- ARM and Key Vault: ``{"error": {"code", "message"}}``;
- Microsoft.Web's own errors: PascalCase ``{"Code", "Message", "Target", "Details", "Innererror"}``
  (azure-apis.md §9);
- Entra: ``{"error", "error_description", "error_codes", ...}``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_appservice.testing.model import HostInfo


@dataclass
class RequestNote:
    """Filled in while a request is handled; becomes its journal entry."""

    kind: str
    audience: str | None = None
    client_id: str | None = None
    bearer: bool = False


def note(request: Request) -> RequestNote:
    return request.scope["emulator.note"]


def host_info(request: Request) -> HostInfo:
    return request.scope["emulator.host"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def web_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Microsoft.Web's PascalCase error form (as recorded for a 404 on a site)."""
    body = {
        "Code": code,
        "Message": message,
        "Target": None,
        "Details": [
            {"Message": message},
            {"Code": code},
            {"ErrorEntity": {"ExtendedCode": "51004", "Code": code, "Message": message}},
        ],
        "Innererror": None,
    }
    return json_response(body, status, headers)


def aad_error(status: int, error: str, code: int, description: str) -> Response:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": (f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {now}"),
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": corr,
    }
    return json_response(body, status)


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
