"""Operator links: the app's (or slot's) page in the Azure portal of the connection's cloud."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

PORTAL_URL_KEY = "appservice_portal_url"


def portal_url(portal: str, tenant_id: str | None, resource_id: str) -> str:
    tenant = f"@{tenant_id}" if tenant_id else ""
    return f"{portal}/#{tenant}/resource{resource_id}"


class AppServicePortalLink(BaseOperatorLink):
    """Shows "Azure portal" on the task; the operator pushes the URL while it runs."""

    name = "Azure portal"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Airflow calls this in the worker when the task ends (deferred, failed or done) and
        stores the answer; the task keeps its URL on itself, so no XCom lookup can miss and
        log an error (sensors never pushed one)."""
        return str(getattr(operator, "appservice_portal_url", "") or "")
