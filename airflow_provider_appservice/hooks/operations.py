"""The operations the operators perform, as methods of the hook, for TaskFlow ``@task`` code.

Each method is a thin call into ``operations/`` — the same retries, pinning, errors and audit
line as the operator, because the operator calls the same method. ``AppServiceHook`` inherits
this mixin; it adds no client of its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.audit import audit

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

    from airflow_provider_appservice.clock import Clock
    from airflow_provider_appservice.identity.config import IdentityConfig
    from airflow_provider_appservice.operations.lifecycle import LifecycleResult
    from airflow_provider_appservice.operations.targets import AppTarget
    from airflow_provider_appservice.transport.backoff import Backoff


class AppServiceOperations:
    """Restart, start, stop and read the state of an app or slot from Python code.

    ``app_name`` is the app; ``slot`` a deployment slot (``None`` or ``"production"`` for the
    production site); ``resource_group`` defaults to the connection's. Names are checked against
    Azure's rules before anything is sent.
    """

    clock: Clock

    if TYPE_CHECKING:  # provided by AppServiceHook

        @property
        def identity(self) -> IdentityConfig: ...

        @property
        def log(self) -> Any: ...

        def get_conn(self) -> WebSiteManagementClient: ...

    def target_of(self, app_name: str, slot: str | None = None, resource_group: str | None = None) -> AppTarget:
        """The app or slot, its names checked; the resource group defaults to the connection's."""
        from airflow_provider_appservice.errors import TaskArgumentError
        from airflow_provider_appservice.operations.targets import AppTarget, normalise_slot

        group = resource_group or self.identity.resource_group
        if not group:
            raise TaskArgumentError(
                "resource_group",
                "is not set, nor on the connection",
                "pass resource_group= or set it on the connection",
            )
        return AppTarget(group, app_name, normalise_slot(slot))

    def backoff(self, deadline: float = 600.0) -> Backoff:
        """The connection's retry settings as a backoff for semantic retries."""
        from airflow_provider_appservice.transport.backoff import Backoff

        return Backoff(initial=1.0, cap=float(self.identity.retry_max_delay_seconds), deadline=deadline)

    def lifecycle(
        self, action: str, target: AppTarget, *, logger: logging.Logger | Any = None, **options: Any
    ) -> LifecycleResult:
        """Send ``restart``/``start``/``stop`` once (re-sent only when Azure proves it was not
        applied), read the state afterwards and write the audit line."""
        from airflow_provider_appservice.operations.lifecycle import run_lifecycle_action
        from airflow_provider_appservice.permissions import declared

        logger = logger or self.log
        identity = self.identity
        with declared(f"AppService{action.capitalize()}Operator", slot=bool(target.slot)):
            result = run_lifecycle_action(
                self.get_conn(),
                target,
                action,
                backoff=self.backoff(),
                max_attempts=identity.retry_max_attempts,
                clock=self.clock,
                logger=logger,
                **options,
            )
        audit(
            logger,
            identity,
            action,
            result.site.resource_id,
            outcome="verified-by-state" if result.verified_by_state else "succeeded",
            request_id=result.request_id,
            correlation_id=result.correlation_id,
            attempts=result.attempts,
        )
        return result

    def restart(
        self,
        app_name: str,
        *,
        slot: str | None = None,
        resource_group: str | None = None,
        soft_restart: bool | None = None,
        synchronous: bool | None = None,
    ) -> dict[str, Any]:
        """Restart; returns ``{"app_name", "slot", "state"}`` like the operator's XCom."""
        target = self.target_of(app_name, slot, resource_group)
        result = self.lifecycle("restart", target, soft_restart=soft_restart, synchronous=synchronous)
        return {"app_name": target.app_name, "slot": target.slot, "state": result.site.state}

    def start(self, app_name: str, *, slot: str | None = None, resource_group: str | None = None) -> dict[str, Any]:
        """Start a stopped app or slot; returns ``{"app_name", "slot", "state"}``."""
        target = self.target_of(app_name, slot, resource_group)
        return {"app_name": target.app_name, "slot": target.slot, "state": self.lifecycle("start", target).site.state}

    def stop(self, app_name: str, *, slot: str | None = None, resource_group: str | None = None) -> dict[str, Any]:
        """Stop an app or slot; returns ``{"app_name", "slot", "state"}``."""
        target = self.target_of(app_name, slot, resource_group)
        return {"app_name": target.app_name, "slot": target.slot, "state": self.lifecycle("stop", target).site.state}

    def get_state(self, app_name: str, *, slot: str | None = None, resource_group: str | None = None) -> str:
        """The app's or slot's admin state now (``Running``, ``Stopped``)."""
        from airflow_provider_appservice.operations.sites import get_site
        from airflow_provider_appservice.permissions import declared

        target = self.target_of(app_name, slot, resource_group)
        with declared("AppServiceStateSensor", slot=bool(target.slot)):
            return get_site(self.get_conn(), target.resource_group, target.app_name, target.slot).state
