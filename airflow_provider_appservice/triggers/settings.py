"""Wait in the triggerer until the Key Vault references a settings task wrote have resolved.

The platform resolves each reference with the **app's** identity and reports its status; the
decisions are the worker's (``operations.key_vault_references.ReferenceWait``), this trigger only runs the
async driver on the loop's shared ARM client. Kwargs are setting names, areas and numbers: never
a value (the values, references included, stay in the app's settings).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_appservice.triggers.base import AppServiceBaseTrigger, error_event, read_deadline


class AppServiceKeyVaultReferencesTrigger(AppServiceBaseTrigger):
    """Poll the platform's status of Key Vault references of the app or slot.

    :param watch: ``{"appsettings": [names] or None, "connectionstrings": [names]}``; None watches
        every reference the platform lists in that area.
    :param deadline: epoch seconds; the wait ends there (references only still pending end as a
        timeout, refused ones as a failure).
    :param timeout: the operator's bound in seconds (for the messages).
    :param written: the names the task wrote (``{"set": [...], ...}``), handed back in the event
        so the resumed task can report them (names only, never a value).
    """

    def __init__(
        self,
        *,
        watch: dict[str, list[str] | None],
        deadline: float,
        timeout: float,
        written: dict[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.written = {str(k): [str(n) for n in v] for k, v in (written or {}).items()}
        self.watch = {str(area): (None if names is None else [str(n) for n in names]) for area, names in watch.items()}
        self.deadline = read_deadline(deadline)  # kwargs come back from the database
        self.timeout = float(timeout)

    def extra_kwargs(self) -> dict[str, Any]:
        return {"watch": self.watch, "deadline": self.deadline, "timeout": self.timeout, "written": self.written}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from azure.core.exceptions import AzureError

        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.key_vault_references import ReferenceWait, awatch_references
        from airflow_provider_appservice.operations.targets import AppTarget
        from airflow_provider_appservice.operations.waits import outcome_event

        target = AppTarget(self.resource_group, self.app_name, self.slot)
        wait = ReferenceWait(
            target.label, self.watch, deadline=self.deadline, timeout=self.timeout, interval=self.poll_interval
        )
        hook = AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)
        try:
            async with hook.shared_arm_client() as client:
                outcome = await awatch_references(client, target, wait, clock=hook.clock, logger=self.log)
            yield TriggerEvent(
                outcome_event(outcome, references=wait.to_event(), reads=wait.polls, written=self.written)
            )
        except (AppServiceError, AzureError) as exc:
            yield error_event(f"Reading the Key Vault reference status of {target.label}", exc, reads=wait.polls)
