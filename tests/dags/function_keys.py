"""Function keys with AppServiceEndpointOperator (tests/integration/test_function_keys.py, test_leaks.py).

One run covers: a key in the path (``?code=``, masked from render time on), a key read from the
connection's Key Vault (sent as ``x-functions-key``), no key (the function answers 401), a
failure whose message names the path, and three refusals before any request.
"""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator

PARAMS = {"app_name": "orders-fn", "fkey": "", "secret_name": "orders-fn-key"}
APP = {"app_name": "{{ params.app_name }}"}
PATH = "/api/orders"


@dag(schedule=None, params=PARAMS)
def function_key_calls() -> None:
    AppServiceEndpointOperator(task_id="key_in_path", path=PATH + "?code={{ params.fkey }}&day=1", **APP)
    AppServiceEndpointOperator(
        task_id="key_from_vault", path=PATH, function_key_secret_name="{{ params.secret_name }}", **APP
    )
    AppServiceEndpointOperator(task_id="no_key", path=PATH, **APP)
    AppServiceEndpointOperator(
        task_id="key_in_path_fails", path=PATH + "?day=2&code={{ params.fkey }}", expected_status=[418], **APP
    )
    AppServiceEndpointOperator(
        task_id="both_ways",
        path=PATH + "?code={{ params.fkey }}",
        function_key_secret_name="{{ params.secret_name }}",
        **APP,
    )
    AppServiceEndpointOperator(task_id="bad_secret_name", path=PATH, function_key_secret_name="no such/name", **APP)
    AppServiceEndpointOperator(task_id="missing_secret", path=PATH, function_key_secret_name="absent-key", **APP)
    AppServiceEndpointOperator(
        task_id="no_vault_in_connection",
        path=PATH,
        function_key_secret_name="{{ params.secret_name }}",
        azure_app_service_conn_id="fk_no_vault",
        **APP,
    )


function_key_calls()
