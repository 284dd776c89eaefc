"""Settings App Service would not take, each refused before any call (tests/integration/test_settings_operator.py).

Task ids name the cases; templated values render natively, so a param that is a dict or None
reaches the operator as one (what a DAG author's template can produce).
"""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator

BIG = 40_000  # over the 32,767-character limit (5 MB is a unit case: masking it here is slow)
CASES = {
    "none_value": ({"settings": {"FEATURE": "{{ params.nothing }}"}}, "settings['FEATURE']"),
    "dict_value": ({"settings": {"FEATURE": "{{ params.mapping }}"}}, "settings['FEATURE']"),
    "list_value": ({"settings": {"FEATURE": ["a", "b"]}}, "settings['FEATURE']"),
    "space_in_name": ({"settings": {"MY FEATURE": "on"}}, "settings"),
    "hyphen_in_name": ({"settings": {"my-feature": "on"}}, "settings"),
    "oversized_value": ({"settings": {"BLOB": "{{ 'x' * params.big }}"}}, "settings['BLOB']"),
    "conn_string_type": ({"connection_strings": {"Db": {"value": "Server=x", "type": "Oracle"}}}, "connection_strings"),
    "conn_string_none": ({"connection_strings": {"Db": {"value": "{{ params.nothing }}"}}}, "connection_strings"),
}


@dag(
    schedule=None,
    render_template_as_native_obj=True,
    params={"app_name": "shop", "nothing": None, "mapping": {"a": 1}, "big": BIG},
)
def settings_refusals() -> None:
    for task_id, (kwargs, _argument) in CASES.items():
        AppServiceUpdateAppSettingsOperator(task_id=task_id, app_name="{{ params.app_name }}", retries=0, **kwargs)


settings_refusals()
