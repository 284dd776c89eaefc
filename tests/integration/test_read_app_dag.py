"""The read_app_state example DAG, run for real with dag.test() against the emulator."""

from __future__ import annotations

import pytest

from ..support import EXAMPLE_DAGS, load_dag, migrate_db, task_states, xcom_value
from .identities import setup_identity


@pytest.fixture(scope="module")
def read_app_dag():
    migrate_db()
    return load_dag(EXAMPLE_DAGS / "read_app_state.py", "read_app_state")


def test_dag_reads_the_app_with_a_managed_identity(world, monkeypatch, use_conn, read_app_dag):
    use_conn("azure_app_service_default", setup_identity(world, "managed_identity", monkeypatch))
    run = read_app_dag.test(run_conf={"app_name": "shop", "slot": "staging"})
    assert task_states(run) == {"read": "success"}
    value = xcom_value(run, "read")
    assert value["name"] == "shop/staging"
    assert value["default_host_name"] == world.slot.default_host_name
    assert value["scm_host_name"] == world.slot.scm_host_name


def test_dag_fails_cleanly_when_the_identity_lacks_a_role(world, use_conn, read_app_dag):
    sp = world.emu.add_service_principal(world.tenant)
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    run = read_app_dag.test(run_conf={"app_name": "shop"})
    assert task_states(run) == {"read": "failed"}
