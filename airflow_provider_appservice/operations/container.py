"""Point an app or slot at a container image, pulled with a managed identity.

``linuxFxVersion`` / ``windowsFxVersion`` = ``DOCKER|<image>``, with
``acrUseManagedIdentityCreds`` so no registry password lands in app settings (and an
optional user-assigned identity for the pull). Setting the image says nothing about
whether the new container serves: ``state`` stays Running while it crash-loops, so the
operator gates on a health probe afterwards.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify
from airflow_provider_appservice.clock import Clock
from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.operations.health import HealthCheck, HealthGate, aprobe, probe
from airflow_provider_appservice.operations.sites import SiteInfo
from airflow_provider_appservice.operations.targets import AppTarget, site_call
from airflow_provider_appservice.operations.waits import PollingWait, WaitOutcome, adrive, drive
from airflow_provider_appservice.transport.arm import ResponseIds
from airflow_provider_appservice.transport.backoff import Backoff
from airflow_provider_appservice.transport.retrying import retrying

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

log = logging.getLogger(__name__)


def fx_version_key(site: SiteInfo, os_type: str | None = None) -> str:
    """``linuxFxVersion`` for Linux apps (kind contains ``linux``), else ``windowsFxVersion``."""
    os_name = (os_type or ("linux" if "linux" in site.kind.lower() else "windows")).lower()
    if os_name not in ("linux", "windows"):
        raise TaskArgumentError("os_type", f"'{os_type}' is neither linux nor windows", "leave it empty to infer")
    return "linux_fx_version" if os_name == "linux" else "windows_fx_version"


def validate_image(image: str) -> str:
    image = (image or "").strip()
    if not image or any(c.isspace() for c in image) or "|" in image:
        raise TaskArgumentError(
            "image", f"{image!r} is not an image reference", "use registry/name:tag, e.g. myacr.azurecr.io/shop:1.4.2"
        )
    return image


def set_container_image(
    client: WebSiteManagementClient,
    target: AppTarget,
    site: SiteInfo,
    image: str,
    *,
    os_type: str | None = None,
    registry_identity_client_id: str | None = None,
    backoff: Backoff | None = None,
    max_attempts: int = 4,
    clock: Clock | None = None,
    logger: Any = log,
) -> ResponseIds:
    """PATCH the site config: the same PATCH twice is harmless, so every transient failure is
    retried — azure-core retries a PATCH only on 500/503/504 and never after a reset, so the
    provider does it (tenacity, on the hook's clock; the SDK's retry is off for this call: one retry
    layer), judged by the one error boundary."""
    from azure.core.exceptions import AzureError
    from azure.mgmt.web.models import SiteConfigResource

    fields: dict[str, Any] = {
        fx_version_key(site, os_type): f"DOCKER|{validate_image(image)}",
        "acr_use_managed_identity_creds": True,
    }
    if registry_identity_client_id:
        fields["acr_user_managed_identity_id"] = registry_identity_client_id
    ids = ResponseIds()
    config = SiteConfigResource(**fields)
    what = f"Setting the image of '{target.label}'"

    def transient(exc: BaseException) -> bool:
        return isinstance(exc, AzureError) and classify(what, exc).retryable

    try:
        for attempt in retrying(
            what,
            retry_on=transient,
            backoff=backoff or Backoff(),
            max_attempts=max_attempts,
            clock=clock,
            logger=logger,
        ):
            with attempt:
                site_call(client.web_apps, "update_configuration", target, config, cls=ids, retry_total=0)
    except AzureError as exc:
        raise classify(what, exc, required_action=target.action("config/write")) from None
    return ids


# -- the readiness gate: "does the new container serve?" -----------------------------------------


class ContainerReadiness(PollingWait):
    """N healthy answers in a row from the new container, before the deadline (no I/O).

    Feed it each probe with :meth:`on_probe`; a bad answer resets the streak. It never fails
    on one bad answer: a container that crash-loops looks like one that is still starting, so
    the deadline ends the wait, with a message that says why ``state`` did not help.
    """

    def __init__(
        self,
        label: str,
        image: str,
        *,
        required: int,
        deadline: float,
        timeout: float,
        interval: float,
        state: str | None = None,
    ) -> None:
        if required < 1:
            raise ValueError("required_consecutive must be at least 1")
        super().__init__(deadline=deadline, timeout=timeout, interval=interval)
        self.label = label
        self.image = image
        self.state = state
        self.gate = HealthGate(required=required)

    def on_probe(self, healthy: bool, why: str) -> str:
        """One probe's verdict; returns the log line for it."""
        self.counted()
        if self.gate.observe(healthy, why):
            self.succeed(f"{self.label} serves {self.image}: {self.gate.streak} healthy answers in a row")
        return f"probe {self.gate.probes}: {why} ({self.gate.streak}/{self.gate.required} in a row)"

    def timeout_message(self) -> str:
        state = f"'{self.state}'" if self.state else "its admin state"
        return (
            f"The new container on '{self.label}' ({self.image}) did not serve within {self.timeout:g}s: "
            f"last answers {self.gate.history[-3:]}. App Service still reports state {state}, which is the "
            "admin state and stays Running while a container crash-loops."
        )


def probe_timeout(interval: float) -> float:
    """Seconds one readiness probe may take."""
    return min(30.0, interval * 2 + 5)


def wait_until_serving(
    app: Any, path: str, readiness: ContainerReadiness, *, clock: Clock | None = None, logger: Any = log
) -> WaitOutcome:
    """Sync driver: probe ``path`` through the app pipeline ``app`` until the gate decides."""

    def look() -> None:
        answer = probe(app, path, HealthCheck(), probe_timeout(readiness.interval or 0.0))
        logger.info("%s in %.0f ms", readiness.on_probe(answer.healthy, answer.why), answer.latency_ms)

    return drive(readiness, look, clock)


async def await_serving(
    app: Any,
    path: str,
    readiness: ContainerReadiness,
    *,
    clock: Clock | None = None,
    logger: Any = log,
) -> WaitOutcome:
    """Async driver (the trigger's): the same gate, probes through the async app pipeline."""

    async def look() -> None:
        answer = await aprobe(app, path, HealthCheck(), probe_timeout(readiness.interval or 0.0))
        logger.info("%s in %.0f ms", readiness.on_probe(answer.healthy, answer.why), answer.latency_ms)

    return await adrive(readiness, look, clock)
