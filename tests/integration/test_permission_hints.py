"""A 403 points at the right fix: the least role covering the whole task (not the first action
refused), and, when Azure says "or the scope is invalid", a possible typo in the scope's names."""

from __future__ import annotations

import io
import zipfile

import pytest

from airflow_provider_appservice.hooks.app_service import AppServiceHook

from ..support import EXAMPLE_DAGS, REPO, load_dag, migrate_db, task_states


@pytest.fixture(scope="module")
def dags():
    migrate_db()
    return {
        "deploy": load_dag(REPO / "tests" / "dags" / "deploy_package.py", "deploy_package"),
        "restart": load_dag(EXAMPLE_DAGS / "scheduled_restart.py", "scheduled_restart"),
    }


def _package(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("BUILD", "v1\n")
    path = tmp_path / "app.zip"
    path.write_bytes(buf.getvalue())
    return path


def test_deploy_without_a_role_names_the_role_covering_every_action(world, use_conn, dags, tmp_path, capfd):
    sp = world.emu.add_service_principal(world.tenant)  # no role at all: the first call (a read) is refused
    use_conn(
        "azure_app_service_default", world.conn("service_principal_secret", login=sp.client_id, password=sp.secret)
    )
    run = dags["deploy"].test(run_conf={"app_name": "shop", "slot": "staging", "package": str(_package(tmp_path))})
    assert task_states(run) == {"deploy": "failed"}
    output = capfd.readouterr().out
    assert "HTTP 403" in output and "AuthorizationFailed" in output
    assert "AppServiceDeployOperator needs" in output
    assert "'Microsoft.Web/sites/slots/publish/action'" in output
    assert "'Website Contributor'" in output and "the least built-in role covering all of them" in output
    assert "e.g. the built-in role 'Reader'" not in output, "the first refused read must not suggest Reader"
    assert not [r for r in world.emu.requests if r.kind == "scm"], "nothing reached Kudu"


def test_a_mistyped_resource_group_is_named_beside_the_missing_role(world, use_conn, dags, capfd):
    sp = world.emu.add_service_principal(world.tenant)
    world.emu.assign_role(sp, "Website Contributor", f"/subscriptions/{world.subscription_id}/resourceGroups/rg-shop")
    fields = world.conn("service_principal_secret", login=sp.client_id, password=sp.secret, resource_group="rg-shopp")
    use_conn("azure_app_service_default", fields)
    run = dags["restart"].test(run_conf={"app_name": "shop", "slot": "staging"})
    assert task_states(run)["soft_restart"] == "failed"
    output = capfd.readouterr().out
    assert "Either the identity lacks a role or a name in the scope is wrong" in output
    assert "resource group 'rg-shopp'" in output and "app 'shop'" in output and "slot 'staging'" in output
    assert "AppServiceRestartOperator needs" in output and "'Website Contributor'" in output
    restarts = [r for r in world.emu.requests if r.method == "POST" and r.path.endswith("/restart")]
    assert restarts and all(r.status == 403 for r in restarts), "the restart was refused, not applied"


def test_connection_test_gives_the_same_guidance(world, use_conn):
    sp = world.emu.add_service_principal(world.tenant)  # no role
    fields = world.conn("service_principal_secret", login=sp.client_id, password=sp.secret, resource_group="rg-shopp")
    ok, text = AppServiceHook(azure_app_service_conn_id=use_conn("norole", fields)).test_connection()
    assert not ok
    assert "Listing apps in resource group 'rg-shopp' failed (HTTP 403, AuthorizationFailed" in text
    assert "AppServiceHook.test_connection needs 'Microsoft.Web/sites/read'" in text and "'Reader'" in text
    assert "resource group 'rg-shopp'" in text
    assert "Operators that change apps need more" in text
