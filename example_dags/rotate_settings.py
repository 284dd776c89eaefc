"""Point an app's secrets at Key Vault, check the app can read them, then restart it.

The settings are Key Vault references (``@Microsoft.KeyVault(...)``), so no secret value
passes through Airflow: the **app's** managed identity reads the vault. The update task
waits until App Service reports every reference it wrote as ``Resolved`` and fails naming
any the app cannot read (e.g. ``DB_PASSWORD: AccessToKeyVaultDenied``). References without
a version follow the secret's latest version, but App Service caches resolved values (up to
24 hours): the restart makes the app fetch them now, e.g. after rotating the secret in the
vault. Settings nobody names here are kept; ``DB_PASSWORD`` is made slot-sticky so a swap
does not carry production's password into staging.

Run settings writers for one app in a one-slot pool (``pool=``) so two of them never race.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from airflow_provider_appservice.operators.lifecycle import AppServiceRestartOperator
from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator

TARGET = {
    "azure_app_service_conn_id": "{{ params.conn_id }}",
    "app_name": "{{ params.app_name }}",
    "slot": "{{ params.slot or '' }}",
    "resource_group": "{{ params.resource_group or '' }}",
}


@dag(
    schedule=None,
    params={
        "app_name": Param("contoso-shop", type="string", description="App Service app to update"),
        "conn_id": Param("azure_app_service_default", type="string", description="Connection to use"),
        "slot": Param(None, type=["null", "string"], description="Deployment slot, or none for production"),
        "resource_group": Param(None, type=["null", "string"], description="Defaults to the connection's"),
        "vault_name": Param("contoso-kv", type="string", description="Key Vault holding the app's secrets"),
        "db_secret": Param("db-password", type="string", description="Secret with the database password"),
        "api_key_secret": Param("payments-api-key", type="string", description="Secret with the API key"),
        "key_vault_reference_timeout": Param(300, type="number", description="Seconds to wait for Resolved"),
        "poll_interval": Param(10, type="number", description="Seconds between status checks"),
    },
    tags=["azure-app-service", "example"],
)
def rotate_settings() -> None:
    reference = "@Microsoft.KeyVault(VaultName={{ params.vault_name }};SecretName=%s)"
    update = AppServiceUpdateAppSettingsOperator(
        task_id="point_settings_at_key_vault",
        **TARGET,
        settings={
            "DB_PASSWORD": reference % "{{ params.db_secret }}",
            "PAYMENTS_API_KEY": reference % "{{ params.api_key_secret }}",
        },
        sticky_settings=["DB_PASSWORD"],
        verify_key_vault_references=True,
        key_vault_reference_timeout="{{ params.key_vault_reference_timeout }}",
        poll_interval="{{ params.poll_interval }}",
    )
    restart = AppServiceRestartOperator(task_id="restart_to_fetch_secrets", **TARGET)
    update >> restart


rotate_settings()
