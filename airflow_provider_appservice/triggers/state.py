"""Wait in the triggerer until an app or slot reaches an admin state (Running, Stopped).

The decisions are the worker's (``operations.state.StateWait``); this trigger only runs the
async driver (``operations.state.await_state``) on the ARM client the hook shares in the running
loop, and stops at its own ``deadline`` with a timeout event. Kwargs are names and numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger, error_event, read_deadline


class AppServiceStateTrigger(AppServiceBaseTrigger):
    """Read the site's ``state`` every ``poll_interval`` seconds until it equals ``target_state``.

    :param target_state: ``Running`` or ``Stopped`` (anything else is refused before any call).
    :param deadline: epoch seconds; the wait ends there with a timeout event (a restarted
        triggerer keeps it; it does not rely on Airflow's trigger timeout). Required: a row
        stored without one is refused (it could wait forever).
    :param timeout: the sensor's timeout in seconds (for the messages).
    """

    def __init__(
        self,
        *,
        target_state: str = "Running",
        deadline: float | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target_state = target_state
        self.deadline = read_deadline(deadline)  # kwargs come back from the database
        self.timeout = None if timeout is None else float(timeout)

    def extra_kwargs(self) -> dict[str, Any]:
        return {"target_state": self.target_state, "deadline": self.deadline, "timeout": self.timeout}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.state import StateWait, await_state
        from airflow_provider_appservice.operations.targets import AppTarget
        from airflow_provider_appservice.operations.waits import outcome_event

        try:
            target = AppTarget(self.resource_group, self.app_name, self.slot)
            hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
            deadline = self.deadline
            wait = StateWait(
                target.label,
                self.target_state,  # a misspelt state is refused here, before any call
                deadline=deadline,
                timeout=self.timeout if self.timeout is not None else max(deadline - hook.clock.wall(), 0.0),
                interval=self.poll_interval,
            )
            async with hook.shared_arm_client() as client:
                outcome, site = await await_state(client, target, wait, clock=hook.clock, logger=self.log)
            # Yielded with the client released: the loop's shared client is not held while the
            # triggerer (or dag.test) decides when to close this generator.
            yield TriggerEvent(
                outcome_event(
                    outcome, state=wait.state, resource_id=site.resource_id if site else None, reads=wait.polls
                )
            )
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Reading {self.label}", exc)
