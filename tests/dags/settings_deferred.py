"""Key Vault references checked from the triggerer, three cases in one run: references the app
can read resolve; one only the app cannot read fails naming it; one still Initialized at the
task's own bound fails as a timeout."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_appservice.operators.settings import AppServiceUpdateAppSettingsOperator

REF = "@Microsoft.KeyVault(SecretUri={{ params.vault }}/secrets/%s)"
DEFERRED = {"app_name": "shop", "deferrable": True, "poll_interval": 0.02, "retries": 0}


@dag(schedule=None, params={"vault": "https://kv.vault.azure.net"})
def settings_deferred() -> None:
    AppServiceUpdateAppSettingsOperator(
        task_id="resolves",
        settings={"DB_PASSWORD": REF % "db-password", "PLAIN": "not-a-reference"},
        connection_strings={"Orders": {"value": REF % "db-password", "type": "SQLAzure"}},
        key_vault_reference_timeout=30,
        **DEFERRED,
    )
    AppServiceUpdateAppSettingsOperator(
        task_id="denied", settings={"API_KEY": REF % "payments-api-key"}, key_vault_reference_timeout=30, **DEFERRED
    )
    AppServiceUpdateAppSettingsOperator(
        task_id="times_out", settings={"CACHE_KEY": REF % "db-password"}, key_vault_reference_timeout=0.3, **DEFERRED
    )


settings_deferred()
