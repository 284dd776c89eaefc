"""The permission table: least roles, slot variants, and the docs table kept in step with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_appservice import permissions
from airflow_provider_appservice.permissions import actions_for, declared, least_role, role_hint

DOCS = Path(__file__).resolve().parents[2] / "docs" / "connections.md"


@pytest.mark.parametrize(
    ("actions", "role"),
    [
        (("Microsoft.Web/sites/read",), "Reader"),
        (("Microsoft.Web/sites/read", "Microsoft.Web/sites/slots/publish/action"), "Website Contributor"),
        (("Microsoft.Web/sites/read", "Microsoft.Insights/diagnosticSettings/write"), "Contributor"),
    ],
)
def test_least_role_covers_every_action(actions, role):
    assert least_role(actions) == role


def test_slot_tasks_need_slot_actions_but_sticky_names_live_on_the_site():
    actions = actions_for("AppServiceUpdateAppSettingsOperator", slot=True)
    assert "Microsoft.Web/sites/slots/config/write" in actions
    assert "Microsoft.Web/sites/config/write" in actions
    assert all(a.startswith("Microsoft.Web/sites/slots/") for a in actions_for("AppServiceRestartOperator", slot=True))


def test_a_declared_task_gets_the_role_for_all_it_needs_and_the_declaration_ends_with_the_block():
    before = permissions.current()  # a DAG run earlier in this process may have declared its task
    with declared("AppServiceDeployOperator", slot=True):
        hint = role_hint("Microsoft.Web/sites/slots/read")
    assert "'Website Contributor'" in hint and "'Microsoft.Web/sites/slots/publish/action'" in hint
    assert permissions.current() is before
    with declared("not a task type"):
        assert permissions.current() is None
    with declared("not a task type"):
        assert "'Reader'" in role_hint("Microsoft.Web/sites/read")


def test_every_operator_and_sensor_is_in_the_docs_table_with_its_actions_and_role():
    text = DOCS.read_text()
    for task_type in permissions._VERBS:
        actions = ", ".join(f"`{a.replace('Microsoft.Web/', '')}`" for a in actions_for(task_type, slot=False))
        row = f"| `{task_type}` | {actions} | {least_role(actions_for(task_type, slot=False))} |"
        assert row in text, f"docs/connections.md lacks or misstates: {row}"


def test_every_public_operator_and_sensor_has_an_entry():
    import airflow_provider_appservice.operators.container as container
    import airflow_provider_appservice.operators.deploy as deploy
    import airflow_provider_appservice.operators.endpoint as endpoint
    import airflow_provider_appservice.operators.lifecycle as lifecycle
    import airflow_provider_appservice.operators.settings as settings
    import airflow_provider_appservice.operators.swap as swap
    import airflow_provider_appservice.sensors.deployment as deployment
    import airflow_provider_appservice.sensors.health as health
    import airflow_provider_appservice.sensors.state as state

    classes = [
        obj
        for module in (container, deploy, endpoint, lifecycle, settings, swap, deployment, health, state)
        for name, obj in vars(module).items()
        if isinstance(obj, type)
        and name.startswith("AppService")
        and obj.__module__ == module.__name__
        and (name.endswith("Operator") or name.endswith("Sensor"))
    ]
    assert classes
    for cls in classes:
        assert permissions.known_task_type(cls) == cls.__name__, f"{cls.__name__} has no permission entry"
