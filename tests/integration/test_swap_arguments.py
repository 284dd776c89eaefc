"""Swap arguments checked before any call (issue 11, item 9): a swap with ``timeout <= 0`` used to
POST the swap and then fail; ``poll_interval <= 0`` raised a raw ValueError after the POST."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator

from ..support import REPO, load_dag, migrate_db, spy_errors, task_states


@pytest.fixture
def contributor(world, use_conn):
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Website Contributor", f"/subscriptions/{world.subscription_id}")
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )


def test_bad_timings_fail_before_any_call_on_every_action(world, contributor, monkeypatch):
    from ..dags.swap_refusals import CASES

    migrate_db()
    seen = spy_errors(monkeypatch, AppServiceSwapSlotsOperator)
    dag = load_dag(REPO / "tests" / "dags" / "swap_refusals.py", "swap_refusals")
    world.emu.set_build(world.slot, "v2")
    before = len(world.emu.requests)
    run = dag.test()
    assert task_states(run) == dict.fromkeys(CASES, "failed")
    for task_id, (_kwargs, argument) in CASES.items():
        assert seen[task_id].startswith(f"TaskArgumentError: Argument '{argument}'"), (task_id, seen[task_id])
    assert world.emu.requests[before:] == [], "nothing was sent: no ARM read, no swap POST"
    assert world.emu.build_of(world.site) != "v2", "production was not swapped"


def test_a_misspelt_action_fails_when_the_dag_is_parsed():
    with pytest.raises(TaskArgumentError, match=r"Argument 'action': is 'swapp'\. Fix: use one of swap, preview"):
        AppServiceSwapSlotsOperator(task_id="s", app_name="shop", source_slot="staging", action="swapp")
