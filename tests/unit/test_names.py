"""Azure's naming rules, checked before any URL is built: dot segments and their encodings never
reach a path, and the message names the argument and the fix."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.errors import ConnectionConfigError, TaskArgumentError
from airflow_provider_appservice.identity.config import parse_identity_config
from airflow_provider_appservice.operations.targets import AppTarget
from airflow_provider_appservice.triggers.state import AppServiceStateTrigger

SUB = "c3dbf8df-302f-4913-85fd-f61a56da0e26"
HOSTILE = ["..", ".", "%2E%2E", "a/../b", "shop/slots/x", "shop?x=1", "shop#x", "shop ", "-shop", "shop-", "", "x" * 61]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_app_name_is_refused_naming_the_argument(name: str) -> None:
    with pytest.raises(TaskArgumentError) as info:
        AppTarget("rg-shop", name)
    assert info.value.argument == "app_name" and "Fix:" in str(info.value)


@pytest.mark.parametrize("name", [n for n in HOSTILE if n] + ["a"])
def test_a_hostile_slot_is_refused(name: str) -> None:
    with pytest.raises(TaskArgumentError) as info:
        AppTarget("rg-shop", "shop", name)
    assert info.value.argument == "slot"


@pytest.mark.parametrize("name", ["..", ".", "rg.", "rg/x", "rg%2F", "x" * 91, ""])
def test_a_hostile_resource_group_is_refused(name: str) -> None:
    with pytest.raises(TaskArgumentError) as info:
        AppTarget(name, "shop")
    assert info.value.argument == "resource_group"


@pytest.mark.parametrize(
    ("rg", "app", "slot"),
    [("rg-shop", "shop", None), ("rg.shop(1)_x", "my-app-01", "staging"), ("a..b", "café", "blue-2")],
)
def test_names_azure_accepts_pass(rg: str, app: str, slot: str | None) -> None:
    assert AppTarget(rg, app, slot).label.startswith(app)


def test_a_trigger_rebuilt_from_stored_kwargs_checks_the_names_again() -> None:
    with pytest.raises(TaskArgumentError, match="slot"):
        AppServiceStateTrigger(azure_app_service_conn_id="c", resource_group="rg", app_name="shop", slot="..")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subscription_id", ".."),
        ("subscription_id", "not-a-guid"),
        ("subscription_id", SUB + "/x"),
        ("resource_group", ".."),
    ],
)
def test_connection_names_are_checked_too(field: str, value: str) -> None:
    extras = {"auth_type": "managed_identity", "subscription_id": SUB, field: value}
    with pytest.raises(ConnectionConfigError) as info:
        parse_identity_config("c", login=None, password=None, extras=extras)
    assert info.value.field == field
