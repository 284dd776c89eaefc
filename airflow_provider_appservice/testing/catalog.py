"""Static facts about App Service plans, regions and host names."""

from __future__ import annotations

import re
import secrets
import string

from airflow_provider_appservice.testing.clouds import Cloud

# Plan SKU -> tier as ARM reports it; tiers without deployment slots are refused by add_slot.
_TIERS = {
    "F": "Free",
    "D": "Shared",
    "B": "Basic",
    "S": "Standard",
    "EP": "ElasticPremium",
    "Y": "Dynamic",
    "FC": "FlexConsumption",
    "WS": "WorkflowStandard",
    "I": "Isolated",
}
NO_SLOTS = {"Free", "Shared", "Basic", "Dynamic", "FlexConsumption"}
_REGIONS = {
    "westeurope": "West Europe",
    "northeurope": "North Europe",
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus2": "West US 2",
    "chinaeast2": "China East 2",
    "chinanorth3": "China North 3",
    "usgovvirginia": "USGov Virginia",
    "usgovarizona": "USGov Arizona",
}


def plan_tier(sku: str) -> str:
    m = re.match(r"([A-Za-z]+?)(\d.*)?$", sku)
    prefix = (m.group(1) if m else sku).upper()
    if prefix == "P":
        suffix = sku[len(prefix) :].lower()
        return "PremiumV3" if "v3" in suffix else "PremiumV2" if "v2" in suffix else "Premium"
    if prefix == "I" and "v2" in sku.lower():
        return "IsolatedV2"
    return _TIERS.get(prefix, "Standard")


def region_name(location: str) -> str:
    return location.replace(" ", "").lower()


def region_display(location: str) -> str:
    return _REGIONS.get(region_name(location), location)


def _regional_hash() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def host_names(label: str, cloud: Cloud, location: str, regional: bool) -> tuple[str, str]:
    """Default and SCM host names. The regional form (``<name>-<16 chars>.<region>-01``)
    follows azure-apis.md §10; for slots it is UNVERIFIED."""
    label = label.lower()
    if not regional:
        return f"{label}.{cloud.web_suffix}", f"{label}.scm.{cloud.web_suffix}"
    h = _regional_hash()
    zone = f"{region_name(location)}-01.{cloud.web_suffix}"
    return f"{label}-{h}.{zone}", f"{label}-{h}.scm.{zone}"
