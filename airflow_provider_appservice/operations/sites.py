"""Reading sites and slots: the facts every other operation starts from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.boundary import classify

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient


@dataclass(frozen=True)
class SiteInfo:
    """What the provider needs to know about one site or slot, taken from ARM."""

    resource_id: str
    name: str
    slot: str | None
    kind: str
    state: str
    default_host_name: str
    host_names: tuple[str, ...]
    scm_host_name: str | None

    @property
    def is_function_app(self) -> bool:
        return "functionapp" in self.kind.lower()


def site_info(site: Any, slot: str | None = None) -> SiteInfo:
    """Build SiteInfo from an SDK ``Site``; the SCM host is the ``Repository`` SSL state."""
    ssl_states = site.host_name_ssl_states or []
    # host_type is an SDK enum (str() of it is "HostType.REPOSITORY"): compare its value.
    scm = next((s.name for s in ssl_states if str(getattr(s.host_type, "value", s.host_type)) == "Repository"), None)
    return SiteInfo(
        resource_id=site.id,
        name=site.name,
        slot=slot,
        kind=site.kind or "app",
        state=site.state or "Unknown",
        default_host_name=site.default_host_name,
        host_names=tuple(site.enabled_host_names or ()),
        scm_host_name=scm,
    )


def get_site(client: WebSiteManagementClient, resource_group: str, app_name: str, slot: str | None = None) -> SiteInfo:
    from azure.core.exceptions import HttpResponseError

    required = "Microsoft.Web/sites/slots/read" if slot else "Microsoft.Web/sites/read"
    target = f"{app_name}/{slot}" if slot else app_name
    try:
        site = (
            client.web_apps.get_slot(resource_group, app_name, slot)
            if slot
            else client.web_apps.get(resource_group, app_name)
        )
    except HttpResponseError as exc:
        raise classify(f"Reading app '{target}'", exc, required_action=required) from None
    return site_info(site, slot)


def count_sites(client: WebSiteManagementClient, resource_group: str) -> int:
    """How many apps the identity can see in a resource group (first page is enough)."""
    from azure.core.exceptions import HttpResponseError

    try:
        pages = client.web_apps.list_by_resource_group(resource_group).by_page()
        return len(list(next(pages, [])))
    except HttpResponseError as exc:
        raise classify(
            f"Listing apps in resource group '{resource_group}'",
            exc,
            required_action="Microsoft.Web/sites/read",
        ) from None


async def aget_site(client: Any, resource_group: str, app_name: str, slot: str | None = None) -> SiteInfo:
    """Async twin of :func:`get_site`, for triggers (``client`` is the aio ARM client)."""
    from azure.core.exceptions import HttpResponseError

    required = "Microsoft.Web/sites/slots/read" if slot else "Microsoft.Web/sites/read"
    target = f"{app_name}/{slot}" if slot else app_name
    try:
        if slot:
            site = await client.web_apps.get_slot(resource_group, app_name, slot)
        else:
            site = await client.web_apps.get(resource_group, app_name)
    except HttpResponseError as exc:
        raise classify(f"Reading app '{target}'", exc, required_action=required) from None
    return site_info(site, slot)
