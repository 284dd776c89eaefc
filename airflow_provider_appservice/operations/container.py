"""Point an app or slot at a container image, pulled with a managed identity.

``linuxFxVersion`` / ``windowsFxVersion`` = ``DOCKER|<image>``, with
``acrUseManagedIdentityCreds`` so no registry password lands in app settings (and an
optional user-assigned identity for the pull). Setting the image says nothing about
whether the new container serves: ``state`` stays Running while it crash-loops, so the
operator gates on a health probe afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.errors import ConnectionConfigError
from airflow_provider_appservice.operations.sites import SiteInfo
from airflow_provider_appservice.operations.targets import AppTarget, site_call
from airflow_provider_appservice.transport.arm import ResponseIds
from airflow_provider_appservice.transport.errors import from_azure_error

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient


def fx_version_key(site: SiteInfo, os_type: str | None = None) -> str:
    """``linuxFxVersion`` for Linux apps (kind contains ``linux``), else ``windowsFxVersion``."""
    os_name = (os_type or ("linux" if "linux" in site.kind.lower() else "windows")).lower()
    if os_name not in ("linux", "windows"):
        raise ConnectionConfigError("os_type", f"'{os_type}' is neither linux nor windows", "leave it empty to infer")
    return "linux_fx_version" if os_name == "linux" else "windows_fx_version"


def validate_image(image: str) -> str:
    image = (image or "").strip()
    if not image or any(c.isspace() for c in image) or "|" in image:
        raise ConnectionConfigError(
            "image", f"{image!r} is not an image reference", "use registry/name:tag, e.g. myacr.azurecr.io/shop:1.4.2"
        )
    return image


def set_container_image(
    client: WebSiteManagementClient,
    target: AppTarget,
    site: SiteInfo,
    image: str,
    *,
    os_type: str | None = None,
    registry_identity_client_id: str | None = None,
) -> ResponseIds:
    """PATCH the site config; the SDK's retry may stay on, the same PATCH twice is harmless."""
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.web.models import SiteConfigResource

    fields: dict[str, Any] = {
        fx_version_key(site, os_type): f"DOCKER|{validate_image(image)}",
        "acr_use_managed_identity_creds": True,
    }
    if registry_identity_client_id:
        fields["acr_user_managed_identity_id"] = registry_identity_client_id
    ids = ResponseIds()
    config = SiteConfigResource(**fields)
    try:
        site_call(client.web_apps, "update_configuration", target, config, cls=ids)
    except HttpResponseError as exc:
        raise from_azure_error(
            f"Setting the image of '{target.label}'", exc, required_action=target.action("config/write")
        ) from None
    return ids
