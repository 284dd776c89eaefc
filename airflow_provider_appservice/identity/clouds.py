"""The Azure clouds a connection may name, and everything that follows from the choice.

Authority, ARM endpoint, token audiences and host suffixes come only from here (never
from ``AZURE_AUTHORITY_HOST``), so a connection cannot be pointed somewhere else by the
environment of whichever process happens to run it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    """Endpoints and suffixes of one Azure cloud."""

    name: str
    sdk_name: str  # member name of azure.core.AzureClouds
    authority_host: str
    arm_endpoint: str
    arm_scope: str
    # Kudu (SCM) calls: the App Service audience az uses (azure-apis.md §11), narrower than ARM in
    # the public cloud; China and US Gov use the classic management resource there.
    scm_scope: str
    vault_suffix: str
    vault_scope: str
    web_suffix: str
    portal: str

    @property
    def arm_host(self) -> str:
        return self.arm_endpoint.split("://", 1)[1].rstrip("/")


CLOUDS: dict[str, Cloud] = {
    "public": Cloud(
        name="public",
        sdk_name="AZURE_PUBLIC_CLOUD",
        authority_host="login.microsoftonline.com",
        arm_endpoint="https://management.azure.com",
        arm_scope="https://management.azure.com/.default",
        scm_scope="https://appservice.azure.com/.default",
        vault_suffix="vault.azure.net",
        vault_scope="https://vault.azure.net/.default",
        web_suffix="azurewebsites.net",
        portal="https://portal.azure.com",
    ),
    "china": Cloud(
        name="china",
        sdk_name="AZURE_CHINA_CLOUD",
        authority_host="login.chinacloudapi.cn",
        arm_endpoint="https://management.chinacloudapi.cn",
        arm_scope="https://management.chinacloudapi.cn/.default",
        scm_scope="https://management.core.chinacloudapi.cn/.default",
        vault_suffix="vault.azure.cn",
        vault_scope="https://vault.azure.cn/.default",
        web_suffix="chinacloudsites.cn",
        portal="https://portal.azure.cn",
    ),
    "usgovernment": Cloud(
        name="usgovernment",
        sdk_name="AZURE_US_GOVERNMENT",
        authority_host="login.microsoftonline.us",
        arm_endpoint="https://management.usgovcloudapi.net",
        arm_scope="https://management.core.usgovcloudapi.net/.default",
        scm_scope="https://management.core.usgovcloudapi.net/.default",  # equals the ARM scope there
        vault_suffix="vault.usgovcloudapi.net",
        vault_scope="https://vault.usgovcloudapi.net/.default",
        web_suffix="azurewebsites.us",
        portal="https://portal.azure.us",
    ),
}
