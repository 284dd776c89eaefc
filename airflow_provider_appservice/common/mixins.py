"""What every App Service operator and sensor shares: the connection, the target app or slot, a
cached hook, the portal link and an Airflow retry policy that fails permanent errors at once.

A neutral module, like the AWS provider's ``utils/mixins.py``: ``operators.base`` and
``sensors.base`` both build on it, so neither imports the other. DAG authors pass the same four
arguments to every operator and sensor, all templated; nothing is built in ``__init__``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule

from airflow_provider_appservice.errors import NOT_RETRYABLE, TaskArgumentError
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.links.portal import PORTAL_URL_KEY, portal_url

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.targets import AppTarget
    from airflow_provider_appservice.transport.backoff import Backoff

# Errors no Airflow retry can fix (``errors.NOT_RETRYABLE``, from each class's ``retryable``):
# fail the task at once instead of burning its retries. One policy for every operator and sensor.
APP_SERVICE_RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=list(NOT_RETRYABLE),
            action=RetryAction.FAIL,
            reason="Permanent failure (configuration, argument, identity, permission, bad request, failed "
            "deployment or unclear outcome): a retry cannot help",
        )
    ]
)


TARGET_FIELDS: tuple[str, ...] = ("azure_app_service_conn_id", "resource_group", "app_name", "slot")


class AppServiceTargetMixin:
    """The connection, app and slot an operator or sensor acts on; shared by both bases.

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    """

    task_id: str
    app_name: str
    resource_group: str | None
    slot: str | None
    azure_app_service_conn_id: str
    appservice_portal_url: str = ""

    def _init_target(
        self, app_name: str, resource_group: str | None, slot: str | None, azure_app_service_conn_id: str
    ) -> None:
        self.app_name = app_name
        self.resource_group = resource_group
        self.slot = slot
        self.azure_app_service_conn_id = azure_app_service_conn_id

    def pre_execute(self, context: Context) -> None:
        """Declare what this task needs (``permissions``), so a 403 names the role covering it all."""
        from airflow_provider_appservice.permissions import acting_as, known_task_type

        task_type = known_task_type(type(self))
        if task_type:
            acting_as(task_type, slot=str(self.slot or "production").lower() != "production")
        self.appservice_portal_url = self._expected_portal_url()

    def _expected_portal_url(self) -> str:
        """The portal link from the connection and the target alone (no call): the link Airflow
        stores when the task ends, deferred, failed or resumed. A bad connection or name gives
        no link here; ``execute`` reports it properly."""
        try:
            identity = self.hook.identity
            target = self.target
        except Exception:
            return ""
        if not identity.subscription_id:
            return ""
        resource_id = (
            f"/subscriptions/{identity.subscription_id}/resourceGroups/{target.resource_group}"
            f"/providers/Microsoft.Web/sites/{target.app_name}" + (f"/slots/{target.slot}" if target.slot else "")
        )
        return portal_url(identity.cloud.portal, identity.tenant_id, resource_id)

    @cached_property
    def hook(self) -> AppServiceHook:
        return AppServiceHook(azure_app_service_conn_id=self.azure_app_service_conn_id)

    @property
    def target(self) -> AppTarget:
        from airflow_provider_appservice.operations.targets import AppTarget, normalise_slot

        resource_group = self.resource_group or self.hook.identity.resource_group
        if not resource_group:
            raise TaskArgumentError(
                "resource_group",
                f"is not set on task '{self.task_id}' nor on connection '{self.azure_app_service_conn_id}'",
                "pass resource_group= to the operator or set it on the connection",
            )
        if not self.app_name:
            raise TaskArgumentError("app_name", f"is empty on task '{self.task_id}'", "pass the app's name")
        return AppTarget(resource_group, self.app_name, normalise_slot(self.slot))

    def backoff(self, deadline: float = 600.0) -> Backoff:
        """The connection's retry settings as a backoff for semantic retries."""
        from airflow_provider_appservice.transport.backoff import Backoff

        identity = self.hook.identity
        return Backoff(initial=1.0, cap=float(identity.retry_max_delay_seconds), deadline=deadline)

    def push_portal_link(self, context: Context, resource_id: str) -> None:
        identity = self.hook.identity
        url = portal_url(identity.cloud.portal, identity.tenant_id, resource_id)
        self.appservice_portal_url = url
        context["ti"].xcom_push(key=PORTAL_URL_KEY, value=url)
