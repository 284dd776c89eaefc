"""Gate on an app's health from the triggerer: N consecutive good answers, a flap resets."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient

    from airflow_provider_appservice.identity.config import IdentityConfig


@dataclass
class _SharedApp:
    client: AsyncPipelineClient
    users: int = 0


# App pipelines shared by every health trigger of one event loop probing the same base URL
# with the same identity, audience and hosts; reference-counted, closed by the last user.
_app_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _SharedApp]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def _shared_app_client(
    identity: IdentityConfig, credential: Any, scope: str | None, hosts: list[str], base_url: str
) -> AsyncIterator[AsyncPipelineClient]:
    from airflow_provider_appservice.transport.app import build_async_app_client

    loop = asyncio.get_running_loop()
    per_loop = _app_clients.setdefault(loop, {})
    key = (identity.fingerprint, scope, base_url, tuple(sorted(hosts)), identity.allowed_hosts)
    shared = per_loop.get(key)
    if shared is None:
        shared = per_loop[key] = _SharedApp(build_async_app_client(identity, credential, scope, hosts, base_url))
    shared.users += 1
    try:
        yield shared.client
    finally:
        shared.users -= 1
        if shared.users == 0:
            per_loop.pop(key, None)
            if not per_loop:
                _app_clients.pop(loop, None)
            await shared.client.close()


class AppServiceHealthTrigger(AppServiceBaseTrigger):
    """Probe ``path`` until ``required_consecutive`` healthy answers in a row, or until
    ``deadline`` (epoch seconds; the sensor's timeout) with the last probes' outcomes.

    Kwargs hold no secret: the audience's *scope*, host names and the check. The credential
    is the loop's shared one (held through the hook's reference-counted ARM client, so it is
    closed when the loop's last trigger leaves); the app pipeline is shared per loop and
    (identity, audience, base URL) and closed by its last user, also when the trigger is
    cancelled.
    """

    def __init__(
        self,
        *,
        path: str,
        scope: str | None,
        hosts: list[str],
        base_url: str,
        required_consecutive: int,
        check: dict[str, Any],
        request_timeout: float,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.scope = scope
        self.hosts = list(hosts)
        self.base_url = base_url
        self.required_consecutive = required_consecutive
        self.check = check
        self.request_timeout = request_timeout
        self.deadline = deadline

    def extra_kwargs(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "scope": self.scope,
            "hosts": self.hosts,
            "base_url": self.base_url,
            "required_consecutive": self.required_consecutive,
            "check": self.check,
            "request_timeout": self.request_timeout,
            "deadline": self.deadline,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import ClientAuthenticationError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.identity.credentials import get_async_credential
        from airflow_provider_appservice.identity.failures import describe_auth_failure
        from airflow_provider_appservice.operations.health import HealthCheck, HealthGate, aprobe

        check = HealthCheck(**{**self.check, "expected_status": tuple(self.check.get("expected_status", (200,)))})
        gate = HealthGate(required=self.required_consecutive)
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        identity: IdentityConfig | None = None
        try:
            async with AsyncExitStack() as stack:
                identity = await hook.aget_identity()
                credential = None
                if self.scope:
                    # Holding the shared ARM client keeps the loop's credential alive (and closes
                    # it with the last user); no ARM request is made.
                    await stack.enter_async_context(hook.shared_arm_client())
                    credential = get_async_credential(identity)
                client = await stack.enter_async_context(
                    _shared_app_client(identity, credential, self.scope, self.hosts, self.base_url)
                )
                while True:
                    result = await aprobe(client, self.path, check, self.request_timeout)
                    passed = gate.observe(result.healthy, result.why)
                    self.log.info(
                        "probe %d of %s%s: %s in %.0f ms (%d/%d in a row)",
                        gate.probes,
                        self.label,
                        self.path,
                        result.why,
                        result.latency_ms,
                        gate.streak,
                        gate.required,
                    )
                    if passed:
                        yield TriggerEvent({"status": "success", "probes": gate.probes})
                        return
                    if self.deadline is not None and time.time() + self.poll_interval > self.deadline:
                        yield TriggerEvent({"status": "timeout", "probes": gate.probes, "history": gate.history})
                        return
                    await asyncio.sleep(self.poll_interval)
        except ClientAuthenticationError as exc:
            message = str(describe_auth_failure(identity, exc)) if identity else type(exc).__name__
            yield TriggerEvent({"status": "error", "message": message})
        except AppServiceError as exc:
            yield TriggerEvent({"status": "error", "message": str(exc)})
