"""Operator link: the Kudu log of the deployment a task made or tracked.

The URL is Kudu's ``https://<scm>/api/deployments/{id}/log`` (it needs an Entra token of the
app's tenant to open, like the rest of the SCM site); the operator pushes it while it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

DEPLOYMENT_LOG_URL_KEY = "appservice_deployment_log_url"


class AppServiceDeploymentLogLink(BaseOperatorLink):
    """Shows "Deployment log" on deploy tasks and deployment sensors."""

    name = "Deployment log"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(key=DEPLOYMENT_LOG_URL_KEY, ti_key=ti_key)
        return str(value) if value else ""
