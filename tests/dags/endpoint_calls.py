"""Calls of an app's endpoints with AppServiceEndpointOperator (tests/integration/test_endpoint_operator.py).

- ``endpoint_call``: one call, everything from params (empty audience/base_url = none);
- ``endpoint_post``: a POST without and one with an idempotency key, independent tasks;
- ``endpoint_checks``: default XCom, a response_filter, a response_check that says no;
- ``endpoint_refusals``: audiences and a base URL refused before any request.
"""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator

APP = {"app_name": "{{ params.app_name }}", "slot": "{{ params.slot }}"}
PARAMS = {"app_name": "shop", "slot": "production", "audience": "", "base_url": "", "path": "/", "method": "GET"}


@dag(schedule=None, params=PARAMS)
def endpoint_call() -> None:
    AppServiceEndpointOperator(
        task_id="call",
        path="{{ params.path }}",
        method="{{ params.method }}",
        audience="{{ params.audience }}",
        base_url="{{ params.base_url }}",
        **APP,
    )


@dag(schedule=None, params=PARAMS)
def endpoint_post() -> None:
    body = {"order": "{{ params.app_name }}-42"}
    AppServiceEndpointOperator(
        task_id="post_plain", path="/api/plain", method="POST", json=body, audience="{{ params.audience }}", **APP
    )
    AppServiceEndpointOperator(
        task_id="post_keyed",
        path="/api/keyed",
        method="POST",
        json=body,
        audience="{{ params.audience }}",
        idempotency_key=True,
        **APP,
    )


@dag(schedule=None, params=PARAMS)
def endpoint_checks() -> None:
    common = {"path": "/api/orders/7", "audience": "{{ params.audience }}", **APP}
    AppServiceEndpointOperator(task_id="default_xcom", **common)
    AppServiceEndpointOperator(
        task_id="filtered", response_filter=lambda r: {"id": r.json()["id"], "state": r.json()["state"]}, **common
    )
    AppServiceEndpointOperator(task_id="checked", response_check=lambda r: r.json()["state"] == "shipped", **common)


REFUSED = {
    "arm": "https://management.azure.com",
    "arm_legacy": "https://management.core.windows.net/",
    "graph": "https://graph.microsoft.com/.default",
    "vault": "https://vault.azure.net",
    "storage": "https://storage.azure.com",
    "storage_account": "https://shopdata.blob.core.windows.net",
    "token_exchange": "api://AzureADTokenExchange",
}


@dag(schedule=None, params=PARAMS)
def endpoint_refusals() -> None:
    for name, audience in REFUSED.items():
        AppServiceEndpointOperator(task_id=f"audience_{name}", audience=audience, **APP)
    AppServiceEndpointOperator(task_id="plain_http", base_url="http://{{ params.base_url }}", **APP)


endpoint_call()
endpoint_post()
endpoint_checks()
endpoint_refusals()
