"""Gate arguments that are not templated are refused when the DAG is parsed (issue 11, item 5):
``required_consecutive`` of 0 would pass a gate on a 503 without one good answer."""

from __future__ import annotations

import pytest

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.operators.container import AppServiceDeployContainerOperator
from airflow_provider_appservice.sensors.health import AppServiceHealthSensor


def health(**kwargs):
    return AppServiceHealthSensor(task_id="gate", app_name="shop", **kwargs)


def container(**kwargs):
    return AppServiceDeployContainerOperator(task_id="image", app_name="shop", image="acr.io/shop:1", **kwargs)


@pytest.mark.parametrize("build", [health, container], ids=["health", "container"])
@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3", None])
def test_required_consecutive_is_a_whole_number_of_at_least_one(build, bad):
    with pytest.raises(TaskArgumentError, match=r"Argument 'required_consecutive'.*Fix: give a whole number of 1"):
        build(required_consecutive=bad)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"expected_status": []}, "expected_status"),
        ({"expected_status": [302]}, "expected_status"),
        ({"expected_status": ["200"]}, "expected_status"),
        ({"expected_status": 200}, "expected_status"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"request_timeout": "x"}, "request_timeout"),
        ({"mode": "reschedule", "required_consecutive": 2}, "mode"),
    ],
)
def test_health_sensor_arguments_are_refused_at_parse_time(kwargs, argument):
    with pytest.raises(TaskArgumentError, match=f"Argument '{argument}'"):
        health(**kwargs)


def test_good_values_still_build():
    """Positive control: the same checks let ordinary values through."""
    assert health(required_consecutive=1, expected_status=[200, 204]).expected_status == (200, 204)
    assert container(required_consecutive=5).required_consecutive == 5
