"""Task groups that compose the provider's operators and sensors into whole procedures."""

from __future__ import annotations

from airflow_provider_appservice.task_groups.blue_green import BlueGreenContext, app_service_blue_green

__all__ = ["BlueGreenContext", "app_service_blue_green"]
