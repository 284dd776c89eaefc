"""Deploy a container image to an app or slot, and wait until the new container serves."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.audit import audit
from airflow_provider_appservice.errors import WaitTimeout
from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class AppServiceDeployContainerOperator(AppServiceBaseOperator):
    """Set the app's image (pulled with a managed identity) and gate on its health.

    "Done" means the new container answers healthy ``required_consecutive`` times in a row,
    not ``state == Running`` (the admin state, which stays Running while a container
    crash-loops).

    :param image: ``registry/name:tag``.
    :param os_type: ``linux`` or ``windows``; inferred from the site's kind when empty.
    :param registry_identity_client_id: a user-assigned identity for the registry pull
        (default: the app's system-assigned identity).
    :param health_path: the path to probe (default ``/``); ``None`` skips the gate.
    :param health_audience: Easy Auth audience for the probe, or ``None`` (anonymous).
    :param required_consecutive: healthy answers in a row that count as "serving".
    :param timeout: seconds to wait for that.
    :param poll_interval: seconds between probes.
    """

    template_fields: Sequence[str] = (
        *AppServiceBaseOperator.template_fields,
        "image",
        "registry_identity_client_id",
        "health_path",
    )

    def __init__(
        self,
        *,
        image: str,
        os_type: str | None = None,
        registry_identity_client_id: str | None = None,
        health_path: str | None = "/",
        health_audience: str | None = None,
        required_consecutive: int = 3,
        timeout: float = 900,
        poll_interval: float = 15,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.os_type = os_type
        self.registry_identity_client_id = registry_identity_client_id
        self.health_path = health_path
        self.health_audience = health_audience
        self.required_consecutive = required_consecutive
        self.timeout = timeout
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_appservice.identity.audiences import app_scope
        from airflow_provider_appservice.operations.container import set_container_image, validate_image
        from airflow_provider_appservice.operations.endpoint import resolve_endpoint
        from airflow_provider_appservice.operations.health import HealthCheck, HealthGate, probe
        from airflow_provider_appservice.operations.sites import get_site
        from airflow_provider_appservice.transport.app import build_app_client

        image = validate_image(self.image)
        scope = app_scope(self.health_audience) if self.health_audience else None
        identity = self.hook.identity
        target = self.target
        client = self.hook.get_conn()
        site = get_site(client, target.resource_group, target.app_name, target.slot)
        self.push_portal_link(context, site.resource_id)
        ids = set_container_image(
            client,
            target,
            site,
            image,
            os_type=self.os_type,
            registry_identity_client_id=self.registry_identity_client_id,
        )
        self.log.info("%s now runs %s (pulled with a managed identity)", target.label, image)
        audit(
            self.log,
            identity,
            "set container image",
            site.resource_id,
            outcome="succeeded",
            request_id=ids.request_id,
            correlation_id=ids.correlation_id,
            image=image,
        )
        result: dict[str, Any] = {"app_name": target.app_name, "slot": target.slot, "image": image, "healthy": None}
        if not self.health_path:
            return result
        endpoint = resolve_endpoint(site, identity, None)
        credential = self.hook.get_credential() if scope else None
        gate = HealthGate(required=self.required_consecutive)
        deadline = time.monotonic() + self.timeout
        with build_app_client(identity, credential, scope, endpoint.hosts, endpoint.base_url) as app:
            while True:
                answer = probe(app, self.health_path, HealthCheck(), min(30.0, self.poll_interval * 2 + 5))
                passed = gate.observe(answer.healthy, answer.why)
                self.log.info(
                    "probe %d: %s in %.0f ms (%d/%d in a row)",
                    gate.probes,
                    answer.why,
                    answer.latency_ms,
                    gate.streak,
                    gate.required,
                )
                if passed:
                    break
                if time.monotonic() + self.poll_interval > deadline:
                    raise WaitTimeout(
                        f"The new container on '{target.label}' ({image}) did not serve within {self.timeout:.0f}s: "
                        f"last answers {gate.history[-3:]}. App Service still reports state "
                        f"'{site.state}', which is the admin state and stays Running while a container crash-loops."
                    )
                time.sleep(self.poll_interval)
        result["healthy"] = True
        return result
