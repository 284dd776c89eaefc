"""Failures of a real swap POST, made by the real stack with no network.

The real ``WebSiteManagementClient`` sends ``begin_swap_slot_with_production`` (``retry_total=0``,
as the provider sends it) through azure-core's own ``RequestsTransport``, its own requests
session and ``HTTPAdapter`` (mounted with ``Retry(total=False)``) down to urllib3. Only the
connection pool is replaced: its ``urlopen`` fails the way urllib3's does — it hands the error
to the adapter's ``Retry.increment``, which re-raises it — or returns a urllib3 ``HTTPResponse``.
So every wrapping above the pool (requests' exception mapping, azure-core's transport, the
SDK's ``map_error``/``HttpResponseError``) is the installed libraries' own, and a change in
any of them shows up here.
"""

from __future__ import annotations

import io
import time
from typing import Any

from urllib3.response import HTTPResponse

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


class _Credential:
    """Hands the bearer policy an opaque token; nothing here talks to Entra ID."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("opaque-test-token", int(time.time()) + 3600)


class _Pool:
    """Stands in for urllib3's HTTPSConnectionPool at the point where it would touch a socket."""

    def __init__(self, outcome: BaseException | HTTPResponse) -> None:
        self.outcome = outcome

    def urlopen(self, method: str, url: str, retries: Any = None, **kwargs: Any) -> HTTPResponse:
        if isinstance(self.outcome, BaseException):
            retries.increment(method, url, error=self.outcome)  # what urllib3's urlopen does
            raise AssertionError("Retry(total=False) re-raises the error it is given")
        return self.outcome


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None, length: int | None = None) -> Any:
    """What ARM answers, as urllib3 hands it to requests; ``length`` > len(body) cuts the body."""
    return HTTPResponse(
        body=io.BytesIO(body),
        headers={"Content-Length": str(len(body) if length is None else length), **(headers or {})},
        status=status,
        preload_content=False,
        decode_content=False,
        request_method="POST",
    )


def arm_error(status: int, code: str, headers: dict[str, str] | None = None) -> Any:
    body = b'{"error": {"code": "%s", "message": "test"}}' % code.encode()
    return answer(status, body, {"Content-Type": "application/json", **(headers or {})})


def swap_failure(outcome: BaseException | HTTPResponse) -> BaseException:
    """The exception ``begin_swap_slot_with_production`` raises when the pool does ``outcome``."""
    from azure.core.pipeline.transport import RequestsTransport
    from azure.mgmt.web import WebSiteManagementClient
    from azure.mgmt.web.models import CsmSlotEntity

    transport = RequestsTransport(use_env_settings=False)
    transport.open()
    assert transport.session is not None
    adapter = transport.session.get_adapter("https://management.azure.com")
    pool = _Pool(outcome)
    adapter.get_connection_with_tls_context = lambda *args, **kwargs: pool
    client = WebSiteManagementClient(_Credential(), SUBSCRIPTION, transport=transport)
    try:
        client.web_apps.begin_swap_slot_with_production(
            "rg", "app", CsmSlotEntity(target_slot="production", preserve_vnet=True), retry_total=0, polling=False
        )
    except Exception as exc:
        return exc
    finally:
        transport.close()
    raise AssertionError(f"the swap POST did not fail for {outcome!r}")


def caused(exc: BaseException, cause: BaseException) -> BaseException:
    """``exc`` raised ``from cause``, as urllib3 raises NewConnectionError from the socket error."""
    exc.__cause__ = cause
    return exc
