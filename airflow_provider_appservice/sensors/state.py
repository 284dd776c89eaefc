"""Wait until an app or slot reaches an admin state, in the worker or (deferrable) the triggerer.

``state`` is App Service's *admin* state: it says Running while a container crash-loops.
To know the app serves, gate on its health (``AppServiceHealthSensor``) instead.
The decision is ``operations.state.StateWait``'s, for the pokes and the trigger alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operators.base import TARGET_FIELDS
from airflow_provider_appservice.sensors.base import AppServiceBaseSensor

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.state import StateWait


class AppServiceStateSensor(AppServiceBaseSensor):
    """Wait for ``target_state`` (``Running`` or ``Stopped``); pokes once, then defers if deferrable.

    A ``target_state`` that is not an App Service state fails the task (``TaskArgumentError``)
    before any request. Deferred, the trigger stops itself at the sensor's ``timeout`` with a
    timeout event, and the task fails with ``AirflowSensorTimeout`` naming the last state read.

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    :param target_state: ``Running`` or ``Stopped`` (templated).
    """

    template_fields: Sequence[str] = (*TARGET_FIELDS, "target_state")

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        target_state: str = "Running",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.target_state = target_state
        self._wait: StateWait | None = None

    def _state_wait(self) -> StateWait:
        """The one wait the pokes feed (its deadline is only for messages: Airflow bounds pokes)."""
        from airflow_provider_appservice.operations.state import StateWait

        if self._wait is None:
            self._wait = StateWait(
                self.target.label,
                self.target_state,
                deadline=self.hook.clock.now() + self.timeout,
                timeout=self.timeout,
                interval=self.poke_interval,
            )
        return self._wait

    def poke(self, context: Context) -> bool:
        from airflow_provider_appservice.operations.state import look_at_state

        wait = self._state_wait()  # a misspelt target_state is refused here, before the read
        site = look_at_state(self.hook.get_conn(), self.target, wait, self.log)
        self.push_portal_link(context, site.resource_id)
        return wait.outcome is not None and wait.outcome.succeeded

    def execute(self, context: Context) -> Any:
        from airflow_provider_appservice.operations.state import admin_state

        self.target_state = admin_state(self.target_state)  # rendered: refuse a misspelling before any call
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        from airflow_provider_appservice.triggers.state import AppServiceStateTrigger

        target = self.target
        # The trigger stops itself at this wall-clock deadline (a restarted triggerer keeps it);
        # Airflow's own deferral timeout is only the backstop.
        deadline = self.hook.clock.wall() + self.timeout
        backstop = self.timeout + 2 * self.poke_interval + 60
        self.defer(
            trigger=AppServiceStateTrigger(
                azure_app_service_conn_id=self.azure_app_service_conn_id,
                resource_group=target.resource_group,
                app_name=target.app_name,
                slot=target.slot,
                poll_interval=self.poke_interval,
                target_state=self.target_state,
                deadline=deadline,
                timeout=self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=backstop),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.operations.waits import SUCCESS, TIMEOUT, check_event

        checked = check_event(event, "state", {"state": str, "resource_id": str, "reads": int})
        if checked["status"] == TIMEOUT:
            raise AirflowSensorTimeout(checked["message"] or f"{self.target.label} did not reach {self.target_state}")
        if checked["status"] != SUCCESS:
            raise AppServiceError(checked["message"] or "the state trigger failed")
        self.log.info("%s reached %s", self.target.label, checked["state"])
