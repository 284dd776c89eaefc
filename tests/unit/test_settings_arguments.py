"""Settings are checked before any call: nothing is coerced silently, the message names the argument."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator


def change(**kwargs):
    return AppServiceUpdateAppSettingsOperator(task_id="t", app_name="shop", **kwargs)._change()


@pytest.mark.parametrize(
    ("kwargs", "argument", "says"),
    [
        ({"settings": {"A": None}}, "settings['A']", "is None"),
        ({"settings": {"A": {"x": 1}}}, "settings['A']", "Python repr"),
        ({"settings": {"A": ["x"]}}, "settings['A']", "Python repr"),
        ({"settings": {"MY KEY": "v"}}, "settings", "whitespace"),
        ({"settings": {"A=B": "v"}}, "settings", "'='"),
        ({"settings": {" ": "v"}}, "settings", "is empty"),
        ({"settings": ["A"]}, "settings", "pass a dict"),
        ({"remove": "A"}, "remove", "list of names"),
        ({"sticky_settings": ["BAD NAME"]}, "sticky_settings", "whitespace"),
        ({"connection_strings": {"Db": "Server=x"}}, "connection_strings", "no 'value'"),
        # App Service's documented name rule for names being set (issue 11, item 8)
        ({"settings": {"MY-KEY": "v"}}, "settings", "other than letters, digits"),
        ({"settings": {"CAFÉ": "v"}}, "settings", "other than letters, digits"),
        ({"settings": {"A/B": "v"}}, "settings", "other than letters, digits"),
        ({"connection_strings": {"my db": {"value": "x"}}}, "connection_strings", "whitespace"),
        ({"connection_strings": {"my-db": {"value": "x"}}}, "connection_strings", "other than letters"),
        ({"settings": {"BIG": "x" * 5_000_000}}, "settings['BIG']", "5,000,000 characters"),
        ({"settings": {"NAN": float("nan")}}, "settings['NAN']", "is nan"),
        ({"settings": {"WHEN": object()}}, "settings['WHEN']", "is a object"),
        ({"settings": {"RAW": b"x"}}, "settings['RAW']", "is a bytes"),
        ({"connection_strings": {"Db": {"value": None}}}, "connection_strings['Db']['value']", "is a NoneType"),
        ({"connection_strings": {"Db": {"value": 5}}}, "connection_strings['Db']['value']", "is a int"),
        (
            {"connection_strings": {"Db": {"value": "x", "type": "Oracle"}}},
            "connection_strings['Db']['type']",
            "SQLAzure",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_argument(kwargs, argument, says):
    with pytest.raises(TaskArgumentError) as info:
        change(**kwargs)
    assert info.value.argument == argument and says in str(info.value)


def test_a_refusal_never_shows_the_value():
    with pytest.raises(TaskArgumentError) as info:
        change(settings={"TOKEN": {"secret": "canary-7f3a"}})
    assert "canary-7f3a" not in str(info.value)


def test_numbers_and_booleans_become_the_text_app_service_stores():
    assert dict(change(settings={"N": 3, "F": 1.5, "ON": True, "OFF": False, "S": "x"}).settings) == {
        "N": "3",
        "F": "1.5",
        "ON": "true",
        "OFF": "false",
        "S": "x",
    }


def test_app_service_names_and_types_pass_and_are_spelt_as_the_sdk_does():
    """Positive control: the documented characters, ':' (Windows .NET), a value at the limit, a
    connection string type in any case; removing a name the portal allowed still works."""
    from airflow_provider_appservice.operations.setting_rules import MAX_VALUE_CHARS

    got = change(
        settings={"A.b_C9": "x", "Logging:LogLevel:Default": "Warning", "MAX": "y" * MAX_VALUE_CHARS},
        connection_strings={"Db": {"value": "Server=x", "type": "sqlazure"}, "Other": {"value": ""}},
        remove=["legacy-name"],
    )
    assert set(got.settings) == {"A.b_C9", "Logging:LogLevel:Default", "MAX"}
    assert {k: c.type for k, c in got.connection_strings.items()} == {"Db": "SQLAzure", "Other": "Custom"}
    assert got.remove == ("legacy-name",)
