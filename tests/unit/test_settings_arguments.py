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
