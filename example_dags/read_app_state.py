"""Read an App Service app's state and host names with the connection's identity.

The smallest useful DAG: it proves the connection's identity can reach ARM and read the
app, and shows how a task uses the hook's authenticated, pinned SDK client.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task


@dag(
    schedule=None,
    params={
        "app_name": Param("contoso-shop", type="string", description="App Service app to read"),
        "conn_id": Param("azure_app_service_default", type="string", description="Connection to use"),
        "slot": Param(None, type=["null", "string"], description="Deployment slot, or none for production"),
        "resource_group": Param(None, type=["null", "string"], description="Defaults to the connection's"),
    },
    tags=["azure-app-service", "example"],
)
def read_app_state() -> None:
    @task
    def read(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_appservice.hooks.app_service import AppServiceHook
        from airflow_provider_appservice.operations.sites import get_site

        params = params or {}
        hook = AppServiceHook(azure_app_service_conn_id=params.get("conn_id") or "azure_app_service_default")
        resource_group = params.get("resource_group") or hook.identity.resource_group
        site = get_site(hook.get_conn(), resource_group, params["app_name"], params.get("slot"))
        return {
            "name": site.name,
            "state": site.state,
            "kind": site.kind,
            "default_host_name": site.default_host_name,
            "scm_host_name": site.scm_host_name,
        }

    read()


read_app_state()
