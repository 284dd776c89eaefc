"""How a blue/green release ends: the one rule that picks the ending, and the tasks that report it.

The rule is a plain function of the steps' states, so it is tested as a table; the tasks only
read those states and word the outcome. Nothing here waits or loops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

# The steps of the group, by the task id they have inside it.
DEPLOY = "deploy"
PREVIEW = "swap_with_preview"
STAGING_GATE = "staging_health_gate"
COMPLETE = "complete_swap"
PRODUCTION_GATE = "production_health_gate"
VERDICT = "verdict"
DONE = "release_done"
CANCEL = "cancel_preview"
ABORTED = "release_aborted"
SWAP_BACK = "swap_back"
RESTORED = "production_restored"

STEP_NAMES = (
    DEPLOY,
    PREVIEW,
    STAGING_GATE,
    COMPLETE,
    PRODUCTION_GATE,
    VERDICT,
    DONE,
    CANCEL,
    ABORTED,
    SWAP_BACK,
    RESTORED,
)
NOT_RUN = (None, "None", "upstream_failed", "skipped", "removed")


@dataclass(frozen=True)
class Steps:
    """The full task ids of one group's steps (a group id prefixes them) and the user's checks."""

    ids: Mapping[str, str]
    checks: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    @property
    def watched(self) -> list[str]:
        """Every step whose state the ending depends on, in release order."""
        names = (DEPLOY, PREVIEW, STAGING_GATE)
        return [*(self.ids[n] for n in names), *self.checks, self.ids[COMPLETE], self.ids[PRODUCTION_GATE]]


def release_verdict(states: Mapping[str, str | None], steps: Steps, cancel_preview: bool) -> list[str]:
    """Which ending runs. A production gate that failed is swapped back; anything that stopped
    the release before the swap leaves production alone (and drops a pending preview when
    asked). A failed ``complete_swap`` is never undone automatically: Azure may have swapped."""
    gate = states.get(steps[PRODUCTION_GATE])
    if gate == "success":
        return [steps[DONE]]
    if gate == "failed":
        return [steps[SWAP_BACK]]
    preview_pending = states.get(steps[PREVIEW]) == "success" and states.get(steps[COMPLETE]) in NOT_RUN
    if cancel_preview and preview_pending:
        return [steps[CANCEL], steps[ABORTED]]
    return [steps[ABORTED]]


def step_states(context: Context, task_ids: Sequence[str]) -> dict[str, str | None]:
    """This run's states of ``task_ids`` (from the API server: the task runs in its own process)."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, task_ids=list(task_ids), run_ids=[ti.run_id])
    found = states.get(ti.run_id, {})
    return {task_id: (None if found.get(task_id) is None else str(found.get(task_id))) for task_id in task_ids}


def _short(task_id: str) -> str:
    return task_id.rsplit(".", 1)[-1]


class ReleaseAborted(BaseOperator):
    """Fail the run naming the step that stopped the release before production was swapped."""

    template_fields: Sequence[str] = ("app_name", "source_slot")
    ui_color = "#f4cccc"

    def __init__(self, *, steps: Steps, app_name: str, source_slot: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps = steps
        self.app_name = app_name
        self.source_slot = source_slot

    def execute(self, context: Context) -> None:
        states = step_states(context, [*self.steps.watched, self.steps[CANCEL]])
        failed = [_short(t) for t in self.steps.watched if states.get(t) == "failed"] or ["an earlier step"]
        if states.get(self.steps[COMPLETE]) == "failed":
            raise AirflowFailException(
                f"Release of '{self.app_name}' failed at complete_swap: Azure may or may not have swapped, so "
                "nothing was swapped back automatically. Check which build production serves (slotSwapStatus "
                "in the portal) before retrying."
            )
        cancelled = states.get(self.steps[CANCEL])
        preview = {
            "success": f"The preview on slot '{self.source_slot}' was cancelled.",
            "failed": f"Cancelling the preview on slot '{self.source_slot}' failed too: cancel it (task "
            f"{_short(self.steps[CANCEL])}'s log says why).",
        }.get(str(cancelled), "")
        if not preview and states.get(self.steps[PREVIEW]) == "success":
            preview = (
                f"The preview on slot '{self.source_slot}' is still applied (cancel_preview_on_failure=False): "
                "cancel or complete it."
            )
        raise AirflowFailException(
            f"Release of '{self.app_name}' stopped before the swap: {', '.join(failed)} failed. Production was not "
            f"swapped and serves its previous build. {preview}".strip()
        )


class ProductionRestored(AppServiceBaseOperator):
    """After the swap back: read which build production serves now and fail the run saying so."""

    template_fields: Sequence[str] = (*AppServiceBaseOperator.template_fields, "source_slot")
    ui_color = "#f4cccc"

    def __init__(self, *, steps: Steps, source_slot: str, image: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps = steps
        self.source_slot = source_slot
        self.image = image

    def _rejected(self, context: Context) -> str:
        result = context["ti"].xcom_pull(task_ids=self.steps[DEPLOY])
        if isinstance(result, Mapping):
            if self.image and result.get("image"):
                return f"image '{result['image']}'"
            if not self.image and result.get("deployment_id"):
                return f"deployment '{result['deployment_id']}'"
        return "the new build"

    def execute(self, context: Context) -> None:
        from airflow_provider_appservice.operations.serving import serving_build

        target = self.target
        serving = serving_build(self.hook.get_conn(), self.hook.get_scm_client, target, image=self.image)
        raise AirflowFailException(
            f"Production health gate failed after the swap, so '{target.app_name}' was swapped back: production "
            f"is restored and serves {serving}. The rejected build ({self._rejected(context)}) is in slot "
            f"'{self.source_slot}' for inspection."
        )
