"""Deploy a container image to an app or slot, and wait until the new container serves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import conf

from airflow_provider_appservice.audit import audit
from airflow_provider_appservice.errors import AppServiceError, WaitTimeout
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class AppServiceDeployContainerOperator(AppServiceBaseOperator):
    """Set the app's image (pulled with a managed identity) and gate on its health.

    "Done" means the new container answers healthy ``required_consecutive`` times in a row,
    not ``state == Running`` (the admin state, which stays Running while a container
    crash-loops).

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    :param image: ``registry/name:tag``.
    :param os_type: ``linux`` or ``windows``; inferred from the site's kind when empty.
    :param registry_identity_client_id: a user-assigned identity for the registry pull
        (default: the app's system-assigned identity).
    :param health_path: the path to probe (default ``/``); ``None`` skips the gate.
    :param health_audience: Easy Auth audience for the probe, or ``None`` (anonymous).
    :param required_consecutive: healthy answers in a row that count as "serving".
    :param timeout: seconds to wait for that.
    :param poll_interval: seconds between probes.
    :param deferrable: wait for the new container in the triggerer (the image is set in the
        worker); default ``[operators] default_deferrable``.

    Returns (XCom) ``{"app_name", "slot", "image", "healthy"}``.
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
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        image: str,
        os_type: str | None = None,
        registry_identity_client_id: str | None = None,
        health_path: str | None = "/",
        health_audience: str | None = None,
        required_consecutive: int = 3,
        timeout: float = 900,
        poll_interval: float = 15,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.image = image
        self.os_type = os_type
        self.registry_identity_client_id = registry_identity_client_id
        self.health_path = health_path
        self.health_audience = health_audience
        self.required_consecutive = required_consecutive
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        from airflow_provider_appservice.operations.health import check_streak

        check_streak(required_consecutive)  # not templated: refused when the DAG is parsed

    def _checked(self) -> tuple[str, str | None]:
        """The image and the health audience's scope, after every check that needs no I/O."""
        from airflow_provider_appservice.errors import TaskArgumentError
        from airflow_provider_appservice.identity.audiences import app_scope
        from airflow_provider_appservice.operations.container import validate_image
        from airflow_provider_appservice.operations.endpoint import check_app_path, check_positive
        from airflow_provider_appservice.operations.health import check_streak

        image = validate_image(self.image)
        if self.os_type not in (None, "") and str(self.os_type).lower() not in ("linux", "windows"):
            raise TaskArgumentError(
                "os_type", f"is {str(self.os_type)[:20]!r}", "use 'linux' or 'windows', or leave it empty"
            )
        if self.health_path:
            check_app_path(self.health_path, "health_path")
        check_streak(self.required_consecutive)
        check_positive(self.timeout, "timeout")
        check_positive(self.poll_interval, "poll_interval")
        return image, app_scope(self.health_audience) if self.health_audience else None

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_appservice.operations.container import set_container_image
        from airflow_provider_appservice.operations.endpoint import check_app_audience, resolve_endpoint
        from airflow_provider_appservice.operations.sites import get_site

        image, scope = self._checked()
        identity = self.hook.identity
        target = self.target
        client = self.hook.get_conn()
        site = get_site(client, target.resource_group, target.app_name, target.slot)
        check_app_audience(client, target, identity, scope if self.health_path else None)  # before the write
        self.push_portal_link(context, site.resource_id)
        ids = set_container_image(
            client,
            target,
            site,
            image,
            os_type=self.os_type,
            registry_identity_client_id=self.registry_identity_client_id,
            backoff=self.backoff(),
            max_attempts=identity.retry_max_attempts,
            clock=self.hook.clock,
            logger=self.log,
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
        if self.deferrable:
            self._defer(image, scope, endpoint, site.state)
        result["healthy"] = self._wait_in_worker(image, scope, endpoint, site.state)
        return result

    def _defer(self, image: str, scope: str | None, endpoint: Any, state: str) -> None:
        from airflow_provider_appservice.operations.container import probe_timeout
        from airflow_provider_appservice.triggers.container import AppServiceContainerReadyTrigger

        target = self.target
        self.log.info("Deferring: the triggerer waits up to %gs for the new container to serve", self.timeout)
        self.defer(
            trigger=AppServiceContainerReadyTrigger(
                azure_app_service_conn_id=self.azure_app_service_conn_id,
                resource_group=target.resource_group,
                app_name=target.app_name,
                slot=target.slot,
                poll_interval=self.poll_interval,
                image=image,
                path=str(self.health_path),
                scope=scope,
                hosts=list(endpoint.hosts),
                base_url=endpoint.base_url,
                required_consecutive=self.required_consecutive,
                deadline=self.hook.clock.wall() + self.timeout,
                timeout=self.timeout,
                state=state,
            ),
            method_name="execute_complete",
            kwargs={"image": image},
            # The trigger ends itself at its deadline; Airflow's timeout is only the backstop.
            timeout=timedelta(seconds=self.timeout + probe_timeout(self.poll_interval) + 60),
        )

    def _wait_in_worker(self, image: str, scope: str | None, endpoint: Any, state: str) -> bool:
        from airflow_provider_appservice.operations.container import ContainerReadiness, wait_until_serving

        readiness = ContainerReadiness(
            self.target.label,
            image,
            required=self.required_consecutive,
            deadline=self.hook.clock.now() + self.timeout,
            timeout=self.timeout,
            interval=self.poll_interval,
            state=state,
        )
        app = self.hook.get_app_client(scope, endpoint.hosts, endpoint.base_url)  # cached and closed by the hook
        outcome = wait_until_serving(app, str(self.health_path), readiness, clock=self.hook.clock, logger=self.log)
        if not outcome.succeeded:
            raise WaitTimeout(outcome.message)
        self.log.info("%s", outcome.message)
        return True

    def execute_complete(self, context: Context, event: dict[str, Any], image: str | None = None) -> dict[str, Any]:
        from airflow_provider_appservice.operations.waits import SUCCESS, TIMEOUT, check_event

        checked = check_event(event, "container readiness", {"probes": int})
        target = self.target
        image = image if isinstance(image, str) else self.image
        if checked["status"] == TIMEOUT:
            raise WaitTimeout(checked["message"] or f"The new container on '{target.label}' did not serve in time")
        if checked["status"] != SUCCESS:
            raise AppServiceError(checked["message"] or "the container readiness trigger failed")
        self.log.info("%s (%s probes)", checked["message"], checked["probes"])
        return {"app_name": target.app_name, "slot": target.slot, "image": image, "healthy": True}
