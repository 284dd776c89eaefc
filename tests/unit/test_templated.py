"""Flags and seconds as templates render them: text read back strictly."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.common.templated import as_bool, as_seconds
from airflow_provider_appservice.errors import TaskArgumentError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True),
        ("false", False),
        ("1", True),
        ("off", False),
        ("", None),
        ("None", None),
        (None, None),
        (True, True),
    ],
)
def test_flags_read_back(text, value):
    assert as_bool(text, "clean") is value


@pytest.mark.parametrize("text", ["maybe", "2", "tru", "[]"])
def test_anything_else_is_refused_naming_the_argument(text):
    with pytest.raises(TaskArgumentError, match=r"Argument 'soft_restart'.*Fix: give True or False"):
        as_bool(text, "soft_restart")


def test_seconds_refuse_text_naming_the_argument():
    assert as_seconds("1.5", "timeout") == 1.5
    with pytest.raises(TaskArgumentError, match="Argument 'timeout'"):
        as_seconds("soon", "timeout")
