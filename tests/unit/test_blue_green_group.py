"""The blue/green group's one ending rule as a table, and its arguments refused at parse time."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import pytest
from airflow.sdk import DAG

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.task_groups import app_service_blue_green
from airflow_provider_appservice.task_groups import verdict as v

NAMES = (v.DEPLOY, v.PREVIEW, v.STAGING_GATE, v.COMPLETE, v.PRODUCTION_GATE, v.DONE, v.CANCEL, v.ABORTED, v.SWAP_BACK)
STEPS = v.Steps({n: f"bg.{n}" for n in NAMES}, ("bg.smoke",))
OK = "success"


def _states(**given: str) -> dict[str, str]:
    return {f"bg.{k}": value for k, value in given.items()}


@pytest.mark.parametrize(
    ("states", "cancel", "ending"),
    [
        (_states(production_health_gate=OK), True, [v.DONE]),
        (_states(production_health_gate="failed", complete_swap=OK), True, [v.SWAP_BACK]),
        (_states(production_health_gate="failed", complete_swap=OK), False, [v.SWAP_BACK]),
        # stopped before the swap with a preview applied: cancelled only when asked
        (
            _states(swap_with_preview=OK, staging_health_gate="failed", complete_swap="upstream_failed"),
            True,
            [v.CANCEL, v.ABORTED],
        ),
        (
            _states(swap_with_preview=OK, staging_health_gate="failed", complete_swap="upstream_failed"),
            False,
            [v.ABORTED],
        ),
        (_states(swap_with_preview=OK, smoke=OK, complete_swap="skipped"), True, [v.CANCEL, v.ABORTED]),
        # no preview to cancel
        (_states(deploy="failed", swap_with_preview="upstream_failed"), True, [v.ABORTED]),
        (_states(swap_with_preview="failed"), True, [v.ABORTED]),
        # complete_swap failed: Azure may have swapped, so neither swap back nor cancel
        (
            _states(swap_with_preview=OK, complete_swap="failed", production_health_gate="upstream_failed"),
            True,
            [v.ABORTED],
        ),
    ],
)
def test_the_ending_follows_the_steps_states(states, cancel, ending):
    assert v.release_verdict(states, STEPS, cancel) == [f"bg.{name}" for name in ending]


def _group(**kwargs):
    with DAG("bg_unit", schedule=None, start_date=datetime(2026, 1, 1)):
        return app_service_blue_green(app_name="shop", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({}, "package"),
        ({"package": "/p.zip", "image": "acr.io/shop:1"}, "package"),
        ({"package": "/p.zip", "source_slot": "production"}, "source_slot"),
        ({"package": "/p.zip", "source_slot": "blue", "target_slot": "Blue"}, "target_slot"),
        ({"package": "/p.zip", "staging_gate": {"slot": "other"}}, "staging_gate"),
        ({"package": "/p.zip", "production_gate": {"deferrable": True}}, "production_gate"),
        ({"package": "/p.zip", "pre_promotion_check": lambda ctx: None}, "pre_promotion_check"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(kwargs, argument):
    with pytest.raises(TaskArgumentError) as caught:
        _group(**kwargs)
    assert caught.value.argument == argument
    assert "Fix:" in str(caught.value)


def test_every_step_is_its_own_task_wired_in_release_order():
    group = _group(image="acr.io/shop:2", health_path="/healthz", staging_gate={"required_consecutive": 4})
    tasks = {t.task_id.split(".", 1)[1]: t for t in group.dag.tasks}
    assert set(tasks) == {*NAMES, v.VERDICT, v.RESTORED}
    assert type(tasks[v.DEPLOY]).__name__ == "AppServiceDeployContainerOperator"
    assert tasks[v.DEPLOY].slot == "staging" and tasks[v.DEPLOY].health_path == "/healthz"
    assert tasks[v.STAGING_GATE].required_consecutive == 4 and tasks[v.STAGING_GATE].slot == "staging"
    assert tasks[v.PRODUCTION_GATE].slot == "production" and tasks[v.PRODUCTION_GATE].path == "/healthz"
    order = [v.DEPLOY, v.PREVIEW, v.STAGING_GATE, v.COMPLETE, v.PRODUCTION_GATE, v.VERDICT]
    for before, after in pairwise(order):
        assert tasks[after].upstream_task_ids == {f"blue_green.{before}"}, after
    assert tasks[v.VERDICT].trigger_rule == "all_done"
    assert tasks[v.RESTORED].upstream_task_ids == {"blue_green.swap_back"}
    assert tasks[v.ABORTED].upstream_task_ids == {"blue_green.verdict", "blue_green.cancel_preview"}
