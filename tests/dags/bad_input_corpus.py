"""The bad-input corpus: one task per bad operator or sensor argument, and one restart task per
bad connection, all independent, in one DAG run. Each must fail before any network request with
a message naming the argument (or connection field) and the fix.

A case whose operator refuses it already at construction is recorded instead of added (that is
"before any call" too); ``tests/integration/test_bad_input_corpus.py`` checks both kinds. Cases
are plain data so the test can read them: ``(case id, operator, kwargs, field named)``. Every
case acts on its own app name (``c<n>``) or connection, so a request in the emulator's journal
points at its case.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from airflow_provider_appservice.operators.container import AppServiceDeployContainerOperator as Container
from airflow_provider_appservice.operators.deploy import AppServiceDeployOperator as Deploy
from airflow_provider_appservice.operators.endpoint import AppServiceEndpointOperator as Endpoint
from airflow_provider_appservice.operators.lifecycle import AppServiceRestartOperator as Restart
from airflow_provider_appservice.operators.lifecycle import AppServiceStopOperator as Stop
from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator as Settings
from airflow_provider_appservice.operators.swap import AppServiceSwapSlotsOperator as Swap
from airflow_provider_appservice.sensors.deployment import AppServiceDeploymentSensor as DeploymentSensor
from airflow_provider_appservice.sensors.health import AppServiceHealthSensor as Health
from airflow_provider_appservice.sensors.state import AppServiceStateSensor as State

OUT = Path(os.environ.get("CORPUS_OUT", "/nonexistent"))
PKG = os.environ.get("CORPUS_PACKAGE", "/nonexistent/app.zip")  # a good zip, for cases about other arguments
TEXT = os.environ.get("CORPUS_TEXT", "/nonexistent/notes.txt")  # a text file
EMPTY = os.environ.get("CORPUS_EMPTY_DIR", "/nonexistent/empty")  # an empty folder
ROOT = os.environ.get("CORPUS_ROOT", "/nonexistent")  # the folder holding the above
ARM_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

OPERATOR_CASES: list[tuple[str, Any, dict[str, Any], str]] = [
    # -- the target, on every kind of task --
    ("restart_app_dotdot", Restart, {"app_name": ".."}, "app_name"),
    ("restart_app_space", Restart, {"app_name": "my app"}, "app_name"),
    ("restart_app_empty", Restart, {"app_name": ""}, "app_name"),
    ("restart_app_too_long", Restart, {"app_name": "a" * 61}, "app_name"),
    ("restart_app_slash", Restart, {"app_name": "shop/slots/staging"}, "app_name"),
    ("restart_app_encoded_dots", Restart, {"app_name": "%2E%2E"}, "app_name"),
    ("restart_slot_dotdot", Restart, {"app_name": "c1", "slot": ".."}, "slot"),
    ("restart_slot_traversal", Restart, {"app_name": "c2", "slot": "../../x"}, "slot"),
    ("restart_slot_question", Restart, {"app_name": "c3", "slot": "staging?x=1"}, "slot"),
    ("restart_rg_dotdot", Restart, {"app_name": "c4", "resource_group": ".."}, "resource_group"),
    ("restart_rg_slash", Restart, {"app_name": "c5", "resource_group": "rg/../other"}, "resource_group"),
    ("restart_rg_too_long", Restart, {"app_name": "c6", "resource_group": "r" * 91}, "resource_group"),
    ("stop_app_hash", Stop, {"app_name": "shop#frag"}, "app_name"),
    ("restart_soft_not_bool", Restart, {"app_name": "c7", "soft_restart": "sometimes"}, "soft_restart"),
    # -- deploy --
    ("deploy_package_empty", Deploy, {"app_name": "c10", "package": ""}, "package"),
    ("deploy_package_missing", Deploy, {"app_name": "c11", "package": "/nonexistent/build.zip"}, "package"),
    ("deploy_package_proc", Deploy, {"app_name": "c12", "package": "/proc/self/environ"}, "package"),
    ("deploy_package_empty_folder", Deploy, {"app_name": "c13", "package": EMPTY}, "package"),
    ("deploy_package_not_a_zip", Deploy, {"app_name": "c14", "package": TEXT, "type": "zip"}, "package"),
    ("deploy_package_http_url", Deploy, {"app_name": "c15", "package": "http://example.com/app.zip"}, "package"),
    (
        "deploy_package_url_userinfo",
        Deploy,
        {"app_name": "c16", "package": "https://user:pw@example.blob.core.windows.net/c/app.zip"},
        "package",
    ),
    ("deploy_package_tarball", Deploy, {"app_name": "c17", "package": "/nonexistent/app.tar.gz"}, "package"),
    ("deploy_type_unknown", Deploy, {"app_name": "c18", "package": PKG, "type": "tgz"}, "type"),
    ("deploy_timeout_zero", Deploy, {"app_name": "c19", "package": PKG, "timeout": 0}, "timeout"),
    ("deploy_timeout_negative", Deploy, {"app_name": "c20", "package": PKG, "timeout": -5}, "timeout"),
    ("deploy_timeout_text", Deploy, {"app_name": "c21", "package": PKG, "timeout": "soon"}, "timeout"),
    ("deploy_poll_zero", Deploy, {"app_name": "c22", "package": PKG, "poll_interval": 0}, "poll_interval"),
    ("deploy_poll_text", Deploy, {"app_name": "c23", "package": PKG, "poll_interval": "often"}, "poll_interval"),
    ("deploy_target_path_up", Deploy, {"app_name": "c24", "package": PKG, "target_path": "../etc"}, "target_path"),
    ("deploy_clean_not_bool", Deploy, {"app_name": "c25", "package": PKG, "clean": "maybe"}, "clean"),
    ("deploy_outside_root", Deploy, {"app_name": "c26", "package": "/etc/hostname", "package_root": ROOT}, "package"),
    ("deploy_slot_dotdot", Deploy, {"app_name": "c27", "slot": "..", "package": PKG}, "slot"),
    # -- swap --
    ("swap_same_slots", Swap, {"app_name": "c30", "source_slot": "production"}, "source_slot|target_slot"),
    ("swap_source_dotdot", Swap, {"app_name": "c31", "source_slot": ".."}, "source_slot"),
    ("swap_target_dotdot", Swap, {"app_name": "c32", "source_slot": "staging", "target_slot": ".."}, "target_slot"),
    ("swap_action_typo", Swap, {"app_name": "c33", "source_slot": "staging", "action": "swapp"}, "action"),
    ("swap_timeout_zero", Swap, {"app_name": "c34", "source_slot": "staging", "timeout": 0}, "timeout"),
    ("swap_timeout_text", Swap, {"app_name": "c35", "source_slot": "staging", "timeout": "later"}, "timeout"),
    ("swap_poll_negative", Swap, {"app_name": "c36", "source_slot": "staging", "poll_interval": -1}, "poll_interval"),
    # -- settings --
    ("settings_value_none", Settings, {"app_name": "c40", "settings": {"A": None}}, "settings"),
    ("settings_value_dict", Settings, {"app_name": "c41", "settings": {"A": {"b": 1}}}, "settings"),
    ("settings_key_space", Settings, {"app_name": "c42", "settings": {"MY KEY": "v"}}, "settings"),
    ("settings_key_empty", Settings, {"app_name": "c43", "settings": {"": "v"}}, "settings"),
    ("settings_value_huge", Settings, {"app_name": "c44", "settings": {"BIG": "x" * 5_000_000}}, "settings"),
    ("settings_not_a_mapping", Settings, {"app_name": "c45", "settings": "A=1"}, "settings"),
    ("settings_remove_bad_key", Settings, {"app_name": "c46", "remove": ["bad key"]}, "remove"),
    ("settings_sticky_not_list", Settings, {"app_name": "c47", "sticky_settings": 5}, "sticky_settings"),
    (
        "settings_conn_string_type",
        Settings,
        {"app_name": "c48", "connection_strings": {"Db": {"value": "x", "type": "Oracle9"}}},
        "connection_strings",
    ),
    (
        "settings_kv_timeout_negative",
        Settings,
        {"app_name": "c49", "settings": {"A": "1"}, "key_vault_reference_timeout": -1},
        "key_vault_reference_timeout",
    ),
    ("settings_nothing_to_do", Settings, {"app_name": "c50"}, "settings"),
    # -- endpoint --
    ("endpoint_method_unknown", Endpoint, {"app_name": "c60", "path": "/x", "method": "FETCH"}, "method"),
    ("endpoint_path_absolute", Endpoint, {"app_name": "c61", "path": "https://evil.example/x"}, "path"),
    ("endpoint_path_crlf", Endpoint, {"app_name": "c62", "path": "/x\r\nHost: evil.example"}, "path"),
    ("endpoint_path_dotdot", Endpoint, {"app_name": "c63", "path": "/../../admin"}, "path"),
    ("endpoint_header_host", Endpoint, {"app_name": "c64", "path": "/x", "headers": {"Host": "evil"}}, "headers"),
    (
        "endpoint_header_authorization",
        Endpoint,
        {"app_name": "c65", "path": "/x", "headers": {"authorization": "Bearer x"}},
        "headers",
    ),
    (
        "endpoint_audience_arm",
        Endpoint,
        {"app_name": "c66", "path": "/x", "audience": "https://management.azure.com"},
        "audience",
    ),
    (
        "endpoint_audience_arm_dot",
        Endpoint,
        {"app_name": "c67", "path": "/x", "audience": "https://management.azure.com."},
        "audience",
    ),
    ("endpoint_audience_arm_id", Endpoint, {"app_name": "c68", "path": "/x", "audience": ARM_APP_ID}, "audience"),
    ("endpoint_audience_graph_id", Endpoint, {"app_name": "c69", "path": "/x", "audience": GRAPH_APP_ID}, "audience"),
    (
        "endpoint_audience_kudu",
        Endpoint,
        {"app_name": "c70", "path": "/x", "audience": "https://appservice.azure.com"},
        "audience",
    ),
    (
        "endpoint_audience_exchange",
        Endpoint,
        {"app_name": "c71", "path": "/x", "audience": "api://AzureADTokenExchange"},
        "audience",
    ),
    (
        "endpoint_base_url_http",
        Endpoint,
        {"app_name": "c72", "path": "/x", "base_url": "http://c72.example"},
        "base_url",
    ),
    (
        "endpoint_base_url_unlisted",
        Endpoint,
        {"app_name": "c73", "path": "/x", "base_url": "https://api.unlisted.example"},
        "base_url",
    ),
    ("endpoint_json_and_data", Endpoint, {"app_name": "c74", "path": "/x", "json": {"a": 1}, "data": "a"}, "json"),
    ("endpoint_status_text", Endpoint, {"app_name": "c75", "path": "/x", "expected_status": "ok"}, "expected_status"),
    ("endpoint_timeout_zero", Endpoint, {"app_name": "c76", "path": "/x", "request_timeout": 0}, "request_timeout"),
    # -- container --
    ("container_image_empty", Container, {"app_name": "c80", "image": ""}, "image"),
    ("container_image_space", Container, {"app_name": "c81", "image": "my image:1"}, "image"),
    (
        "container_consecutive_zero",
        Container,
        {"app_name": "c82", "image": "nginx:1", "required_consecutive": 0},
        "required_consecutive",
    ),
    ("container_os_unknown", Container, {"app_name": "c83", "image": "nginx:1", "os_type": "beos"}, "os_type"),
    ("container_timeout_zero", Container, {"app_name": "c84", "image": "nginx:1", "timeout": 0}, "timeout"),
    # -- sensors --
    ("health_path_absolute", Health, {"app_name": "c90", "path": "https://evil.example/healthz"}, "path"),
    (
        "health_consecutive_zero",
        Health,
        {"app_name": "c91", "path": "/healthz", "required_consecutive": 0},
        "required_consecutive",
    ),
    (
        "health_auth_arm",
        Health,
        {"app_name": "c92", "path": "/healthz", "auth": "https://management.azure.com"},
        "auth",
    ),
    ("health_regex_broken", Health, {"app_name": "c93", "path": "/healthz", "regex": "("}, "regex"),
    (
        "health_status_text",
        Health,
        {"app_name": "c94", "path": "/healthz", "expected_status": "fine"},
        "expected_status",
    ),
    ("health_gate_timeout_zero", Health, {"app_name": "c95", "path": "/healthz", "gate_timeout": 0}, "gate_timeout"),
    ("state_target_typo", State, {"app_name": "c96", "target_state": "Runing"}, "target_state"),
    ("state_slot_dotdot", State, {"app_name": "c97", "slot": "..", "target_state": "Running"}, "slot"),
    (
        "deployment_id_traversal",
        DeploymentSensor,
        {"app_name": "c98", "deployment_id": "../../api/settings"},
        "deployment_id",
    ),
    ("deployment_id_empty", DeploymentSensor, {"app_name": "c99", "deployment_id": ""}, "deployment_id"),
]

#: Connection cases: (case id, field named). The test builds each connection (``conn_<case id>``).
CONNECTION_CASES: list[tuple[str, str]] = [
    ("auth_type_missing", "auth_type"),
    ("auth_type_unknown", "auth_type"),
    ("tenant_not_guid", "tenant_id"),
    ("tenant_common", "tenant_id"),
    ("subscription_dotdot", "subscription_id"),
    ("subscription_not_guid", "subscription_id"),
    ("resource_group_slash", "resource_group"),
    ("resource_group_too_long", "resource_group"),
    ("cloud_unknown", "cloud"),
    ("ca_bundle_missing", "ca_bundle"),
    ("allowed_hosts_wildcard", "allowed_hosts"),
    ("allowed_hosts_scheme", "allowed_hosts"),
    ("allowed_hosts_port", "allowed_hosts"),
    ("retry_attempts_fraction", "retry_max_attempts"),
    ("retry_attempts_bool", "retry_max_attempts"),
    ("retry_attempts_zero", "retry_max_attempts"),
    ("retry_attempts_huge", "retry_max_attempts"),
    ("retry_delay_negative", "retry_max_delay_seconds"),
    ("retry_delay_text", "retry_max_delay_seconds"),
    ("extra_typo", "resouce_group"),
    ("extra_not_json", "extra|Extra"),
    ("extra_a_list", "extra|Extra"),
    ("sp_secret_no_login", "login|Client ID"),
    ("sp_secret_no_password", "password|Client secret"),
    ("sp_secret_login_not_guid", "login|Client ID"),
    ("sp_cert_garbage_pem", "client_certificate_private_key"),
    ("sp_cert_key_without_cert", "client_certificate_private_key"),
    ("sp_cert_missing", "client_certificate_private_key"),
    ("sp_cert_no_tenant", "tenant_id"),
    ("kv_url_http", "key_vault_url"),
    ("kv_url_userinfo", "key_vault_url"),
    ("kv_url_port", "key_vault_url"),
    ("kv_url_path", "key_vault_url"),
    ("kv_url_wrong_suffix", "key_vault_url"),
    ("kv_url_other_cloud", "key_vault_url"),
    ("kv_no_secret_name", "key_vault_secret_name"),
    ("kv_secret_name_slash", "key_vault_secret_name"),
    ("kv_no_url", "key_vault_url"),
    ("mi_client_id_not_guid", "managed_identity_client_id"),
    ("mi_with_password", "password|Client secret"),
    ("workload_no_token_file", "auth_type"),
    ("federated_no_login", "login|Client ID"),
    ("allowed_audiences_arm", "allowed_audiences"),
    ("allowed_audiences_graph_id", "allowed_audiences"),
    ("allowed_audiences_kudu", "allowed_audiences"),
    ("allowed_audiences_not_uri", "allowed_audiences"),
    ("default_with_secret", "password|Client secret"),
    ("subscription_missing_for_rg", "subscription_id"),
    ("cloud_china_public_vault", "key_vault_url"),
    ("tenant_dotdot", "tenant_id"),
]


def _record_failure(context: Any) -> None:
    error = context.get("exception")
    line = {"task": context["ti"].task_id, "error": f"{type(error).__name__}: {error}"}
    with open(OUT / "failures.jsonl", "a") as fh:
        fh.write(json.dumps(line) + "\n")


with DAG(
    "bad_input_corpus", schedule=None, default_args={"retries": 0, "on_failure_callback": _record_failure}
) as corpus:
    refused: dict[str, str] = {}
    for case_id, operator, kwargs, _field in OPERATOR_CASES:
        try:
            operator(task_id=case_id, **kwargs)
        except Exception as exc:  # refused at construction: as good as before any call
            refused[case_id] = f"{type(exc).__name__}: {exc}"
            corpus.task_dict.pop(case_id, None)  # an operator that raised after registering itself
            corpus.task_group.children.pop(case_id, None)
    for case_id, _field in CONNECTION_CASES:
        Restart(task_id=f"conn_{case_id}", app_name="shop", azure_app_service_conn_id=f"corpus_{case_id}")
    if OUT.is_dir():
        (OUT / "construction.json").write_text(json.dumps(refused))
