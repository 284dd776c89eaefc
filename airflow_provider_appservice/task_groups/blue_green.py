"""A blue/green release as one task group: deploy to a slot, gate, swap with preview, gate
production, and swap back by itself when production's gate fails.

Every step is an ordinary task of the provider (its own row in the grid, its own log, its own
retries and deferral); the group only wires them and adds the verdict that picks the ending
(:mod:`airflow_provider_appservice.task_groups.verdict`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import BaseOperator, TaskGroup, chain, conf, task

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.task_groups import verdict as v

if TYPE_CHECKING:
    from airflow.sdk import Context

STAGING_GATE_DEFAULTS: Mapping[str, Any] = {"required_consecutive": 3}
PRODUCTION_GATE_DEFAULTS: Mapping[str, Any] = {"required_consecutive": 5}
# The group sets these on each gate itself; a gate dict that sets them is refused.
_GATE_OWNED = ("task_id", "app_name", "slot", "resource_group", "azure_app_service_conn_id", "deferrable")


@dataclass(frozen=True)
class BlueGreenContext:
    """What a ``pre_promotion_check`` needs to build its task inside the group.

    ``upstream`` is the staging gate; the group wires the returned task(s) after it and before
    ``complete_swap``, so a failed check stops the release before production is touched.
    """

    group: TaskGroup
    app_name: str
    resource_group: str | None
    source_slot: str
    target_slot: str
    health_path: str
    deferrable: bool
    azure_app_service_conn_id: str
    upstream: Any


@dataclass(frozen=True)
class _Plan:
    """The group's arguments, checked: what every step is built from."""

    where: dict[str, Any]  # app_name, resource_group, azure_app_service_conn_id
    package: str | None
    image: str | None
    source_slot: str
    target_slot: str
    staging: dict[str, Any]
    production: dict[str, Any]
    cancel_preview: bool
    deferrable: bool
    deploy_kwargs: dict[str, Any]

    @property
    def swap(self) -> dict[str, Any]:
        return dict(self.where, source_slot=self.source_slot, target_slot=self.target_slot)

    def context(self, group: TaskGroup, upstream: Any) -> BlueGreenContext:
        return BlueGreenContext(
            group,
            self.where["app_name"],
            self.where["resource_group"],
            self.source_slot,
            self.target_slot,
            self.staging["path"],
            self.deferrable,
            self.where["azure_app_service_conn_id"],
            upstream,
        )


def _checked(package: str | None, image: str | None, source_slot: str, target_slot: str) -> None:
    """Refuse at parse time what could never release, naming the argument."""
    if (package is None) == (image is None):
        raise TaskArgumentError(
            "package",
            "and image are both set or both missing",
            "pass exactly one: package= (zip, folder, URL) or image= (registry/name:tag)",
        )
    if str(source_slot).strip().lower() in ("", "production"):
        raise TaskArgumentError("source_slot", f"is {source_slot!r}", "deploy to a slot other than production")
    if str(source_slot).strip().lower() == str(target_slot).strip().lower():
        raise TaskArgumentError("target_slot", f"equals source_slot {source_slot!r}", "swap two different slots")


def _gate(name: str, given: Mapping[str, Any] | None, defaults: Mapping[str, Any], path: str) -> dict[str, Any]:
    owned = sorted(set(given or {}) & set(_GATE_OWNED))
    if owned:
        raise TaskArgumentError(name, f"sets {', '.join(owned)}", "the group sets these; pass them to the group")
    return {"path": path, **defaults, **(given or {})}


def _tasks_of(built: Any) -> list[Any]:
    """The operators a check callable returned (an operator, an XComArg or a list of them)."""
    items = built if isinstance(built, list | tuple) else [built]
    found = [getattr(item, "operator", item) for item in items]
    if not found or not all(hasattr(t, "task_id") for t in found):
        raise TaskArgumentError(
            "pre_promotion_check", f"returned {built!r}", "return the task (or list of tasks) it created"
        )
    return found


def _deploy(plan: _Plan) -> BaseOperator:
    from airflow_provider_appservice.operators.container import AppServiceDeployContainerOperator
    from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator

    common = dict(plan.where, slot=plan.source_slot, deferrable=plan.deferrable, **plan.deploy_kwargs)
    if plan.image is None:
        return AppServiceDeployOperator(task_id=v.DEPLOY, package=str(plan.package), **common)
    # The container operator's own wait is "the new container answers": one good answer.
    return AppServiceDeployContainerOperator(
        task_id=v.DEPLOY, image=plan.image, health_path=plan.staging["path"], required_consecutive=1, **common
    )


def _endings(steps: v.Steps, cancel_preview: bool, swap: dict[str, Any], **names: Any) -> Any:
    """The verdict and the four endings it chooses from."""
    from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator

    @task.branch(task_id=v.VERDICT, trigger_rule="all_done")
    def verdict(**context: Any) -> list[str]:
        """Pick the ending from the steps' states (see verdict.release_verdict)."""
        return v.release_verdict(v.step_states(cast("Context", context), steps.watched), steps, cancel_preview)

    @task(task_id=v.DONE)
    def release_done(app_name: str, target_slot: str) -> str:
        return f"{app_name}: the new build serves {target_slot} and passed its health gate"

    decide = verdict()
    cancel = AppServiceSwapSlotsOperator(task_id=v.CANCEL, action="cancel", **swap)
    aborted = v.ReleaseAborted(
        task_id=v.ABORTED,
        steps=steps,
        app_name=names["app_name"],
        source_slot=swap["source_slot"],
        trigger_rule="all_done",
    )
    back = AppServiceSwapSlotsOperator(task_id=v.SWAP_BACK, action="swap", **swap)
    restored = v.ProductionRestored(task_id=v.RESTORED, steps=steps, **names)
    decide >> [release_done(names["app_name"], swap["target_slot"]), cancel, aborted, back]
    cancel >> aborted
    back >> restored
    return decide


def app_service_blue_green(
    *,
    app_name: str,
    package: str | None = None,
    image: str | None = None,
    source_slot: str = "staging",
    target_slot: str = "production",
    health_path: str = "/",
    staging_gate: Mapping[str, Any] | None = None,
    production_gate: Mapping[str, Any] | None = None,
    pre_promotion_check: Callable[[BlueGreenContext], Any] | None = None,
    cancel_preview_on_failure: bool = True,
    deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
    resource_group: str | None = None,
    azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
    group_id: str = "blue_green",
    deploy_kwargs: Mapping[str, Any] | None = None,
) -> TaskGroup:
    """Build the release inside the current DAG and return its :class:`TaskGroup` (the steps
    and endings: docs/blue-green.md).

    :param app_name: the app; templated, like every name here.
    :param package: a zip, folder or ``https://`` URL (``AppServiceDeployOperator``), or
    :param image: ``registry/name:tag`` (``AppServiceDeployContainerOperator``); exactly one.
    :param source_slot: the slot that gets the build (not production).
    :param target_slot: the slot it is promoted to.
    :param health_path: the path both gates probe unless a gate sets its own ``path``.
    :param staging_gate: ``AppServiceHealthSensor`` arguments for the gate on ``source_slot``
        (``path``, ``required_consecutive``, ``probe_interval``, ``gate_timeout``, ...).
    :param production_gate: the same for ``target_slot`` after the swap; it watches production
        for at least ``(required_consecutive - 1) * probe_interval`` seconds: its window.
    :param pre_promotion_check: called with a :class:`BlueGreenContext` inside the group; it
        creates your task(s) and returns them; they run after the staging gate, before the swap.
    :param cancel_preview_on_failure: cancel the preview when a step before the swap fails.
    :param deferrable: every wait defers to the triggerer.
    :param resource_group: defaults to the connection's ``resource_group``.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection.
    :param group_id: the group's id, the prefix of its task ids.
    :param deploy_kwargs: more arguments for the deploy task (e.g. ``timeout``, ``clean``).
    """
    _checked(package, image, source_slot, target_slot)
    plan = _Plan(
        {
            "app_name": app_name,
            "resource_group": resource_group,
            "azure_app_service_conn_id": azure_app_service_conn_id,
        },
        package,
        image,
        source_slot,
        target_slot,
        _gate("staging_gate", staging_gate, STAGING_GATE_DEFAULTS, health_path),
        _gate("production_gate", production_gate, PRODUCTION_GATE_DEFAULTS, health_path),
        cancel_preview_on_failure,
        deferrable,
        dict(deploy_kwargs or {}),
    )
    with TaskGroup(group_id=group_id) as group:
        _wire(group, plan, pre_promotion_check)
    return group


def _wire(group: TaskGroup, plan: _Plan, check: Callable[[BlueGreenContext], Any] | None) -> None:
    from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator
    from airflow_provider_appservice.sensors.health import AppServiceHealthSensor

    where, swap, deferrable = plan.where, plan.swap, plan.deferrable
    deploy = _deploy(plan)
    preview = AppServiceSwapSlotsOperator(task_id=v.PREVIEW, action="preview", deferrable=deferrable, **swap)
    staging_gate = AppServiceHealthSensor(
        task_id=v.STAGING_GATE, slot=plan.source_slot, deferrable=deferrable, **where, **plan.staging
    )
    checks = _tasks_of(check(plan.context(group, staging_gate))) if check else []
    complete = AppServiceSwapSlotsOperator(task_id=v.COMPLETE, action="complete", deferrable=deferrable, **swap)
    production_gate = AppServiceHealthSensor(
        task_id=v.PRODUCTION_GATE, slot=plan.target_slot, deferrable=deferrable, **where, **plan.production
    )
    steps = v.Steps({n: group.child_id(n) for n in v.STEP_NAMES}, tuple(t.task_id for t in checks))
    chain(deploy, preview, staging_gate, *([checks] if checks else []), complete, production_gate)
    production_gate >> _endings(
        steps,
        plan.cancel_preview,
        swap,
        **where,
        slot=plan.target_slot,
        source_slot=plan.source_slot,
        image=plan.image is not None,
    )
