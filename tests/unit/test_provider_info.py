"""The provider dict is read by every Airflow process: a wrong one crashes `import airflow`."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_appservice.get_provider_info import get_provider_info

AIRFLOW_DIR = Path(airflow.__file__).parent


def _schema(name: str) -> dict:
    return json.loads((AIRFLOW_DIR / name).read_text())


def test_dict_validates_against_airflows_provider_info_schema():
    jsonschema.validate(get_provider_info(), _schema("provider_info.schema.json"))


def test_conn_fields_validate_against_provider_yaml_schema():
    item_schema = _schema("provider.yaml.schema.json")["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], item_schema)


def test_package_name_matches_distribution_and_entry_point():
    info = get_provider_info()
    assert info["package-name"] == metadata.distribution("airflow-provider-appservice").metadata["Name"]
    eps = metadata.entry_points(group="apache_airflow_provider")
    ours = [ep for ep in eps if ep.value.startswith("airflow_provider_appservice")]
    assert [ep.load()()["package-name"] for ep in ours] == ["airflow-provider-appservice"]


def test_connection_form_has_exactly_the_designed_extras():
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "azure_app_service"
    assert conn_type["hook-name"] == "Azure App Service"
    fields = conn_type["conn-fields"]
    assert set(fields) == {
        "auth_type",
        "tenant_id",
        "subscription_id",
        "managed_identity_client_id",
        "client_certificate_private_key",
        "client_certificate_password",
        "key_vault_url",
        "key_vault_secret_name",
        "cloud",
        "resource_group",
        "ca_bundle",
        "allowed_hosts",
        "allowed_audiences",
        "retry_max_attempts",
        "retry_max_delay_seconds",
    }
    assert "default" not in fields["auth_type"]["schema"], "auth_type must have no default"
    assert fields["auth_type"]["schema"]["type"] == "string", "auth_type is the one required field"
    assert all("null" in spec["schema"]["type"] for name, spec in fields.items() if name != "auth_type")
    assert fields["cloud"]["schema"]["enum"] == ["public", "china", "usgovernment"]
    assert fields["client_certificate_private_key"]["schema"]["format"] == "multiline"
    assert fields["client_certificate_password"]["schema"]["format"] == "password"
    for name, spec in fields.items():
        assert len(spec["description"]) >= 40, f"{name} needs a description a newcomer can act on"
    behaviour = conn_type["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"host", "port", "schema"}
    assert behaviour["relabeling"] == {"login": "Client ID", "password": "Client secret"}


@pytest.mark.parametrize("name", ["client_certificate_private_key", "client_certificate_password"])
def test_secret_extras_are_masked_by_name(name):
    from airflow.sdk._shared.secrets_masker.secrets_masker import should_hide_value_for_key

    assert should_hide_value_for_key(name)


def test_hook_class_matches_the_connection_type():
    from airflow_provider_appservice.hooks.app_service import AppServiceHook

    (conn_type,) = get_provider_info()["connection-types"]
    module, _, cls = conn_type["hook-class-name"].rpartition(".")
    assert f"{AppServiceHook.__module__}.{AppServiceHook.__name__}" == f"{module}.{cls}"
    assert AppServiceHook.conn_type == conn_type["connection-type"]
    assert AppServiceHook.hook_name == conn_type["hook-name"]
    assert AppServiceHook.default_conn_name == "azure_app_service_default"
    assert AppServiceHook.conn_name_attr == "azure_app_service_conn_id"


def test_every_listed_module_and_link_imports_without_azure():
    import importlib
    import subprocess
    import sys

    info = get_provider_info()
    modules = [
        m for key in ("hooks", "operators", "sensors", "triggers") for item in info[key] for m in item["python-modules"]
    ]
    links = info["extra-links"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"for l in {links!r}:\n"
        "    mod, _, cls = l.rpartition('.')\n"
        "    getattr(importlib.import_module(mod), cls)\n"
        "print(sorted(m for m in sys.modules if m.startswith('azure')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", "importing operator modules must not import azure.*"
    for module in modules:
        importlib.import_module(module)


def test_form_offers_exactly_the_auth_types_and_clouds_the_identity_layer_enforces():
    from airflow_provider_appservice.identity.clouds import CLOUDS
    from airflow_provider_appservice.identity.config import AUTH_TYPES

    (conn_type,) = get_provider_info()["connection-types"]
    fields = conn_type["conn-fields"]
    assert fields["auth_type"]["schema"]["enum"] == list(AUTH_TYPES)
    assert fields["cloud"]["schema"]["enum"] == list(CLOUDS)


def test_provider_info_imports_neither_airflow_nor_azure():
    """``import airflow`` calls it while Airflow is half imported: importing Airflow back is circular."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from airflow_provider_appservice.get_provider_info import get_provider_info\n"
        "get_provider_info()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'azure')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
