"""Token-pinning probes (tests/integration/test_pinning_probes.py): one task per probe, each of
which must be refused before anything is sent with a token it should not carry.

Hosts and the app's own audience come from params, so one DAG serves every emulator world.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag

from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator
from airflow_provider_appservice.sensors.health import AppServiceHealthSensor

PARAMS = {"own_host": "", "other_host": "", "own_audience": "", "other_audience": ""}
APP = {"app_name": "shop"}
OWN = "{{ params.own_audience }}"

# Powerful audiences: refused by the floor, with no I/O at all (not even an ARM read).
FLOOR = {
    "arm_trailing_dot": "https://management.azure.com.",
    "arm_upper_case": "HTTPS://MANAGEMENT.AZURE.COM/",
    "arm_default_scope": "https://management.azure.com//.default",
    "arm_app_id": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    "arm_api_app_id": "api://797f4846-ba00-4fd7-ba43-dac1f8f63013",
    "kudu": "https://appservice.azure.com/.default",
    "graph_app_id": "00000003-0000-0000-c000-000000000000",
    "key_vault_app_id": "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
    "storage_app_id": "e406a681-f3d4-42a8-90b6-c2b029497af1",
    "devops_app_id": "499b84ac-1321-427f-aa17-267ca6975798",
    "log_analytics": "https://api.loganalytics.io",
    "monitor": "https://monitor.azure.com/",
    "kusto": "https://help.kusto.windows.net",
    "container_registry": "https://containerregistry.azure.net",
    "cosmos": "https://cosmos.azure.com",
    "event_grid": "https://eventgrid.azure.net",
    "redis": "https://redis.azure.com",
    "power_bi": "https://analysis.windows.net/powerbi/api",
    "service_bus": "https://servicebus.azure.net",
    "event_hubs": "https://eventhubs.azure.net",
    "sql": "https://database.windows.net/",
    "cognitive_services": "https://cognitiveservices.azure.com",
    "token_exchange": "api://AzureADTokenExchange",
}
# Refused by the allow-rule after ARM said which audiences the app accepts; no token is asked for.
ALLOW_RULE = {
    "unknown_guid": "5b0f7c1e-6d3a-4c8e-9f21-7a4b2c9d0e13",
    "other_app": "{{ params.other_audience }}",
}
# Everything else that could carry the app token elsewhere, refused before any request.
OTHERS: dict[str, dict[str, Any]] = {
    "header_host": {"audience": OWN, "headers": {"Host": "{{ params.other_host }}"}},
    "header_host_upper": {"audience": OWN, "headers": {"HOST": "management.azure.com"}},
    "header_authorization": {"audience": OWN, "headers": {"authorization": "Bearer forged"}},
    "path_absolute_url": {"audience": OWN, "path": "https://{{ params.other_host }}/api"},
    "path_scheme_relative": {"audience": OWN, "path": "//{{ params.other_host }}/api"},
    "base_url_other_trailing_dot": {"audience": OWN, "base_url": "https://{{ params.other_host }}."},
    "base_url_userinfo": {"audience": OWN, "base_url": "https://{{ params.own_host }}@{{ params.other_host }}"},
    "base_url_port": {"audience": OWN, "base_url": "https://{{ params.own_host }}:8443"},
    "base_url_lookalike": {"audience": OWN, "base_url": "https://{{ params.own_host }}.evil.example"},
    "slot_dot_dot": {"audience": OWN, "slot": ".."},
    "slot_encoded_dot_dot": {"audience": OWN, "slot": "%2E%2E"},
    "app_dot_dot": {"audience": OWN, "app_name": ".."},
}


@dag(schedule=None, params=PARAMS)
def pinning_probes() -> None:
    for name, audience in {**FLOOR, **ALLOW_RULE}.items():
        AppServiceEndpointOperator(task_id=f"audience_{name}", audience=audience, path="/api/orders", **APP)
    for name, kwargs in OTHERS.items():
        AppServiceEndpointOperator(task_id=name, **{"path": "/api/orders", **APP, **kwargs})
    AppServiceHealthSensor(
        task_id="health_absolute_url",
        path="https://{{ params.other_host }}/healthz",
        auth=OWN,
        timeout=30,
        poke_interval=5,
        **APP,
    )


pinning_probes()
