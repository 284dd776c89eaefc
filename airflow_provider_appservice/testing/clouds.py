"""Host names and token audiences of the Azure clouds the emulator answers for.

Values come from ``azure-apis.md`` §10 and ``msal.authority``; the v1 token issuer hosts
(``sts_host``) of the sovereign clouds are UNVERIFIED against real tokens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    """One Azure cloud: where to log in, where ARM lives, and the DNS suffixes it hands out."""

    name: str
    authority_host: str
    management_host: str
    management_core: str  # the legacy ARM audience, e.g. https://management.core.windows.net/
    vault_suffix: str
    web_suffix: str
    sts_host: str
    graph_resource: str
    # The resource az asks for to call Kudu (azure-apis.md §11); Kudu also accepts ARM tokens.
    appservice_resource: str
    # Federated-credential audience per cloud (Microsoft docs on workload identity federation);
    # UNVERIFIED against recorded traffic for the sovereign clouds.
    token_exchange_audience: str = "api://AzureADTokenExchange"

    @property
    def arm_resource(self) -> str:
        return f"https://{self.management_host}"

    @property
    def vault_resource(self) -> str:
        return f"https://{self.vault_suffix}"

    @property
    def arm_audiences(self) -> frozenset[str]:
        """Audiences ARM accepts, trailing slash stripped (compare with :func:`norm_aud`)."""
        return frozenset({norm_aud(self.arm_resource), norm_aud(self.management_core)})

    @property
    def scm_audiences(self) -> frozenset[str]:
        """Audiences Kudu accepts: the App Service resource and ARM's (as real Kudu does)."""
        return self.arm_audiences | {norm_aud(self.appservice_resource)}

    def authority_url(self, tenant_id: str) -> str:
        return f"https://{self.authority_host}/{tenant_id}"

    def v2_issuer(self, tenant_id: str) -> str:
        return f"https://{self.authority_host}/{tenant_id}/v2.0"

    def v1_issuer(self, tenant_id: str) -> str:
        return f"https://{self.sts_host}/{tenant_id}/"

    def token_endpoint(self, tenant_id: str) -> str:
        return f"https://{self.authority_host}/{tenant_id}/oauth2/v2.0/token"


def norm_aud(audience: str) -> str:
    """Audiences are compared without a trailing slash (ARM accepts both spellings)."""
    return audience.rstrip("/")


CLOUDS: dict[str, Cloud] = {
    "public": Cloud(
        name="public",
        authority_host="login.microsoftonline.com",
        management_host="management.azure.com",
        management_core="https://management.core.windows.net/",
        vault_suffix="vault.azure.net",
        web_suffix="azurewebsites.net",
        sts_host="sts.windows.net",
        graph_resource="https://graph.microsoft.com",
        appservice_resource="https://appservice.azure.com",
    ),
    "china": Cloud(
        name="china",
        authority_host="login.chinacloudapi.cn",
        management_host="management.chinacloudapi.cn",
        management_core="https://management.core.chinacloudapi.cn/",
        vault_suffix="vault.azure.cn",
        web_suffix="chinacloudsites.cn",
        sts_host="sts.chinacloudapi.cn",
        graph_resource="https://microsoftgraph.chinacloudapi.cn",
        appservice_resource="https://management.core.chinacloudapi.cn/",
        token_exchange_audience="api://AzureADTokenExchangeChina",
    ),
    "usgovernment": Cloud(
        name="usgovernment",
        authority_host="login.microsoftonline.us",
        management_host="management.usgovcloudapi.net",
        management_core="https://management.core.usgovcloudapi.net/",
        vault_suffix="vault.usgovcloudapi.net",
        web_suffix="azurewebsites.us",
        sts_host="login.microsoftonline.us",
        graph_resource="https://graph.microsoft.us",
        appservice_resource="https://management.core.usgovcloudapi.net/",
        token_exchange_audience="api://AzureADTokenExchangeUSGov",
    ),
}


def get_cloud(name: str) -> Cloud:
    try:
        return CLOUDS[name]
    except KeyError:
        raise ValueError(f"unknown cloud {name!r}; expected one of {sorted(CLOUDS)}") from None
