"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point.

Every Airflow process calls this at start-up and validates the result against
``provider_info.schema.json``; a wrong dict crashes ``import airflow`` itself. So it
is a plain dict built from literals, except the connection form's choices of auth type
and cloud, which come from the identity layer's tables that enforce them (one source).
Those two modules use the standard library only: ``import airflow`` itself calls this,
so importing anything that imports Airflow (or ``azure.``) here would be circular.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_appservice.identity import auth_rules as identity_auth_rules
from airflow_provider_appservice.identity import clouds as identity_clouds

CONN_TYPE = "azure_app_service"
HOOK_NAME = "Azure App Service"

# The connection form offers exactly the auth types and clouds the identity layer knows.
AUTH_TYPES = list(identity_auth_rules.AUTH_TYPES)
CLOUDS = list(identity_clouds.CLOUDS)


def _field(label: str, description: str, *, required: bool = False, **schema: Any) -> dict[str, Any]:
    # Airflow 3.3's form marks a field required unless its JSON-schema type allows null, and
    # then blocks Save until it is filled; every field but auth_type depends on the auth type.
    base = schema.pop("type", "string")
    schema["type"] = base if required else [base, "null"]
    return {"label": label, "description": description, "schema": schema}


CONN_FIELDS: dict[str, dict[str, Any]] = {
    "auth_type": _field(
        "Auth type",
        "Required. How Airflow proves who it is. managed_identity: the worker's own identity "
        "(no secret). workload_identity: AKS or another OIDC issuer (federated token file). "
        "managed_identity_federated: an app registration that trusts the managed identity "
        "(no secret anywhere, also across tenants). service_principal_secret / "
        "service_principal_certificate: Client ID plus a secret or a PEM certificate. "
        "key_vault_service_principal: the service principal's secret or certificate is read "
        "from Key Vault at run time by the worker's managed or workload identity. default: "
        "DefaultAzureCredential, for local development only.",
        enum=AUTH_TYPES,
        required=True,
    ),
    "tenant_id": _field(
        "Tenant ID",
        "Directory (tenant) ID of the identity, a GUID from Entra ID > Overview. Required for "
        "service principals, workload identity and managed_identity_federated.",
    ),
    "subscription_id": _field(
        "Subscription ID",
        "Subscription that holds the apps, a GUID from the portal's Subscriptions page.",
    ),
    "resource_group": _field(
        "Default resource group",
        "Resource group used when a task does not name one.",
    ),
    "managed_identity_client_id": _field(
        "Managed identity client ID",
        "Client ID of a user-assigned managed identity. Leave empty for the system-assigned "
        "identity. Also selects the bootstrap identity for key_vault_service_principal and "
        "the identity trusted by managed_identity_federated.",
    ),
    "client_certificate_private_key": _field(
        "Client certificate (PEM)",
        "service_principal_certificate only: the PEM text with the private key and the "
        "certificate. Prefer key_vault_service_principal so no key is stored in Airflow.",
        format="multiline",
    ),
    "client_certificate_password": _field(
        "Certificate password",
        "Password of the PEM private key (or of the Key Vault PKCS#12 certificate), if it has one.",
        format="password",
    ),
    "key_vault_url": _field(
        "Key Vault URL",
        "key_vault_service_principal only: the vault that holds the service principal's "
        "credential, e.g. https://my-vault.vault.azure.net (the cloud's vault suffix, no path).",
    ),
    "key_vault_secret_name": _field(
        "Key Vault secret name",
        "key_vault_service_principal only: the secret holding the client secret, or a "
        "certificate (content type application/x-pem-file or application/x-pkcs12).",
    ),
    "cloud": _field(
        "Azure cloud",
        "Which Azure cloud: public (default), china or usgovernment. The sign-in authority, "
        "the ARM endpoint and the host suffixes all come from this choice.",
        enum=CLOUDS,
    ),
    "ca_bundle": _field(
        "Extra CA bundle",
        "Path on the workers to a PEM file of extra CA certificates, for corporate TLS "
        "inspection. TLS verification cannot be turned off.",
    ),
    "allowed_hosts": _field(
        "Allowed hosts for app tokens",
        "Comma-separated exact host names (no wildcards) that may also receive an app token, "
        "e.g. a custom domain or Front Door host in front of the app. Set by the owner of this "
        "connection, not by DAG authors.",
    ),
    "allowed_audiences": _field(
        "Allowed app-token audiences",
        "Exact audiences (api://<client-id>, a client id or an Application ID URI), comma- or "
        "newline-separated or a JSON list, that the endpoint operator and health checks may get "
        "an app token for beyond the app's own Easy Auth audiences. Azure, Microsoft 365 and "
        "Azure DevOps audiences are refused. Set by the owner of this connection.",
        format="multiline",
    ),
    "retry_max_attempts": _field(
        "Retry attempts",
        "How many times a throttled (429) or failing (5xx) request is tried in all. Default 4.",
        type="integer",
        minimum=1,
        maximum=20,
    ),
    "retry_max_delay_seconds": _field(
        "Retry max delay (seconds)",
        "Upper bound for one backoff wait between retries; a longer Retry-After from Azure "
        "is still honoured. Default 60.",
        type="integer",
        minimum=1,
        maximum=600,
    ),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "port", "schema"],
    "relabeling": {"login": "Client ID", "password": "Client secret"},
    "placeholders": {
        "login": "Application (client) ID of the service principal",
        "password": "service_principal_secret only; prefer Key Vault or a managed identity",
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata for Airflow's providers manager."""
    return {
        "package-name": "airflow-provider-appservice",
        "name": "Azure App Service",
        "description": "Deploy, operate and call Azure App Service web and function apps "
        "with short-lived, audience-scoped Entra tokens.",
        "integrations": [
            {
                "integration-name": "Azure App Service",
                "external-doc-url": "https://learn.microsoft.com/azure/app-service/",
                "tags": ["azure"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Azure App Service",
                "python-modules": ["airflow_provider_appservice.hooks.app_service"],
            }
        ],
        "operators": [
            {
                "integration-name": "Azure App Service",
                "python-modules": [
                    "airflow_provider_appservice.operators.lifecycle",
                    "airflow_provider_appservice.operators.container",
                    "airflow_provider_appservice.operators.settings",
                    "airflow_provider_appservice.operators.swap",
                    "airflow_provider_appservice.operators.endpoint",
                    "airflow_provider_appservice.operators.deploy",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Azure App Service",
                "python-modules": [
                    "airflow_provider_appservice.sensors.state",
                    "airflow_provider_appservice.sensors.health",
                    "airflow_provider_appservice.sensors.deployment",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Azure App Service",
                "python-modules": [
                    "airflow_provider_appservice.triggers.state",
                    "airflow_provider_appservice.triggers.swap",
                    "airflow_provider_appservice.triggers.health",
                    "airflow_provider_appservice.triggers.deployment",
                    "airflow_provider_appservice.triggers.container",
                    "airflow_provider_appservice.triggers.settings",
                ],
            }
        ],
        "extra-links": [
            "airflow_provider_appservice.links.portal.AppServicePortalLink",
            "airflow_provider_appservice.links.deployment_log.AppServiceDeploymentLogLink",
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "airflow_provider_appservice.hooks.app_service.AppServiceHook",
                "hook-name": HOOK_NAME,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
