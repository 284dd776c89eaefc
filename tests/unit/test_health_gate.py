"""The health decisions: redirects never pass, content checks, a flap resets the streak."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_appservice.operations.health import HealthCheck, HealthGate


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_healthy_even_if_expected(status):
    healthy, why = HealthCheck(expected_status=(200, status)).judge(status, "")
    assert not healthy and "redirect" in why


@pytest.mark.parametrize(
    ("check", "status", "body", "healthy"),
    [
        (HealthCheck(), 200, "ok", True),
        (HealthCheck(), 503, "Application Error", False),
        (HealthCheck(json_path="status", equals="Healthy"), 200, json.dumps({"status": "Healthy"}), True),
        (HealthCheck(json_path="status", equals="Healthy"), 200, json.dumps({"status": "Degraded"}), False),
        (HealthCheck(json_path="checks.0.name"), 200, json.dumps({"checks": [{"name": "db"}]}), True),
        (HealthCheck(json_path="missing"), 200, "{}", False),
        (HealthCheck(json_path="build", contains="v2"), 200, json.dumps({"build": "v2-abc"}), True),
        (HealthCheck(contains="v2"), 200, "build v1", False),
        (HealthCheck(regex=r"build v\d+"), 200, "build v7", True),
        (HealthCheck(json_path="x"), 200, "<html>", False),
    ],
)
def test_status_and_content_checks(check, status, body, healthy):
    assert check.judge(status, body)[0] is healthy


@given(st.lists(st.booleans(), max_size=60), st.integers(min_value=1, max_value=5))
def test_gate_passes_exactly_after_n_consecutive_good_answers(answers, required):
    gate = HealthGate(required=required)
    passed_at = None
    for i, ok in enumerate(answers):
        if gate.observe(ok, "x") and passed_at is None:
            passed_at = i
    # reference: first index where the last `required` answers were all good
    expected = next(
        (i for i in range(len(answers)) if i + 1 >= required and all(answers[i + 1 - required : i + 1])), None
    )
    assert passed_at == expected


def test_a_flap_resets_the_streak():
    gate = HealthGate(required=3)
    for ok in (True, True, False, True, True):
        gate.observe(ok, "")
    assert not gate.passed and gate.streak == 2
    assert gate.observe(True, "")
