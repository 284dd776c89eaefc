"""Gate a pipeline on an app's health: N consecutive good answers from a path, in the worker or triggerer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operators.base import TARGET_FIELDS
from airflow_provider_appservice.sensors.base import AppServiceBaseSensor

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.endpoint import AppEndpoint
    from airflow_provider_appservice.operations.health import HealthCheck, HealthWait


class AppServiceHealthSensor(AppServiceBaseSensor):
    """Wait until ``path`` answers healthy ``required_consecutive`` times in a row.

    A bad answer resets the count; a redirect (e.g. Easy Auth's login page) is never healthy.

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    :param path: the health path, e.g. ``/healthz``.
    :param auth: ``None`` for an anonymous health path, or the app's Easy Auth audience.
    :param required_consecutive: good answers in a row that pass the gate (default 3).
    :param expected_status: statuses that are healthy (default 200).
    :param json_path: dotted path into a JSON body to check; with ``equals`` / ``contains``.
    :param equals: the value at ``json_path`` must equal this.
    :param contains: the body (or the value at ``json_path``) must contain this text.
    :param regex: the body must match this.
    :param request_timeout: seconds to wait for one answer.
    :param base_url: probe through a front door whose host is in the connection's ``allowed_hosts``.
    :param probe_interval: seconds between probes, templated (overrides ``poke_interval``).
    :param gate_timeout: seconds the gate may take, templated (overrides ``timeout``).

    The overall bound is the sensor's ``timeout``; when it runs out the task fails with
    ``AirflowSensorTimeout`` naming the last probes' outcomes. ``mode="reschedule"`` cannot keep
    a streak between pokes, so it is refused when ``required_consecutive > 1`` (use
    ``deferrable=True``).
    """

    template_fields: Sequence[str] = (
        *TARGET_FIELDS,
        "path",
        "auth",
        "base_url",
        "equals",
        "contains",
        "regex",
        "probe_interval",
        "gate_timeout",
    )

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        path: str = "/",
        auth: str | None = None,
        required_consecutive: int = 3,
        expected_status: Sequence[int] = (200,),
        json_path: str | None = None,
        equals: Any = None,
        contains: str | None = None,
        regex: str | None = None,
        request_timeout: float = 10.0,
        base_url: str | None = None,
        probe_interval: float | str | None = None,
        gate_timeout: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.path = path
        self.auth = auth
        self.required_consecutive = required_consecutive
        self.expected_status: tuple[int, ...] = ()
        self.json_path = json_path
        self.equals = equals
        self.contains = contains
        self.regex = regex
        self.request_timeout = request_timeout
        self.base_url = base_url
        self.probe_interval = probe_interval
        self.gate_timeout = gate_timeout
        from airflow_provider_appservice.errors import TaskArgumentError
        from airflow_provider_appservice.operations.endpoint import check_positive
        from airflow_provider_appservice.operations.health import check_statuses, check_streak

        # Not templated: checked at construction, before any DAG run.
        check_streak(required_consecutive)
        self.expected_status = check_statuses(expected_status)
        check_positive(request_timeout, "request_timeout")
        if self.mode == "reschedule" and required_consecutive > 1 and not self.deferrable:
            raise TaskArgumentError(
                "mode",
                f"'reschedule' forgets the streak of good answers between pokes (task '{self.task_id}')",
                "use deferrable=True (or mode='poke') with required_consecutive > 1",
            )
        self._wait: HealthWait | None = None
        self._client: Any = None

    def _apply_templated_timing(self) -> None:
        """``probe_interval`` / ``gate_timeout`` may come from templates (DAG params); they
        override ``poke_interval`` / ``timeout``, which Airflow does not template."""
        from airflow_provider_appservice.operations.endpoint import check_positive

        if self.probe_interval not in (None, ""):
            self.poke_interval = check_positive(self.probe_interval, "probe_interval")
        if self.gate_timeout not in (None, ""):
            self.timeout = check_positive(self.gate_timeout, "gate_timeout")

    def _check(self) -> HealthCheck:
        from airflow_provider_appservice.operations.health import HealthCheck

        return HealthCheck(self.expected_status, self.json_path, self.equals, self.contains, self.regex)

    def _endpoint(self, context: Context) -> tuple[AppEndpoint, str | None]:
        from airflow_provider_appservice.identity.audiences import app_scope
        from airflow_provider_appservice.operations.endpoint import (
            check_app_audience,
            check_app_path,
            check_base_url,
            resolve_endpoint,
        )
        from airflow_provider_appservice.operations.health import check_regex
        from airflow_provider_appservice.operations.sites import get_site

        scope = app_scope(self.auth, "auth") if self.auth else None  # refused audiences fail before I/O
        if self.regex is not None:
            check_regex(self.regex)
        if self.base_url:
            check_base_url(self.base_url)
        # An absolute URL as the path would probe (and pass the gate on) another host.
        self.path = check_app_path(self.path)
        target = self.target
        site = get_site(self.hook.get_conn(), target.resource_group, target.app_name, target.slot)
        self.push_portal_link(context, site.resource_id)
        endpoint = resolve_endpoint(site, self.hook.identity, self.base_url)
        check_app_audience(self.hook.get_conn(), target, self.hook.identity, scope)
        return endpoint, scope

    def poke(self, context: Context) -> bool:
        from airflow_provider_appservice.operations.health import HealthWait, probe_into

        if self._client is None:
            endpoint, scope = self._endpoint(context)
            self._client = self.hook.get_app_client(scope, endpoint.hosts, endpoint.base_url)
            # Airflow's poke loop bounds the pokes; the wait's deadline only words the messages.
            self._wait = HealthWait(
                f"{self.target.label}{self.path}",
                required=self.required_consecutive,
                deadline=self.hook.clock.now() + self.timeout,
                timeout=self.timeout,
                interval=self.poke_interval,
            )
        assert self._wait is not None
        return probe_into(self._client, self.path, self._check(), self.request_timeout, self._wait, self.log)

    def _timed_out(self, probes: int, history: Sequence[str]) -> str:
        from airflow_provider_appservice.operations.health import unhealthy_message

        where = f"{self.target.label}{self.path}"
        return unhealthy_message(where, self.required_consecutive, self.timeout, probes, history)

    def execute(self, context: Context) -> Any:
        self._apply_templated_timing()
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                gate = self._wait.gate if self._wait else None
                raise AirflowSensorTimeout(
                    f"{self._timed_out(gate.probes if gate else 0, gate.history if gate else [])} {exc}"
                ) from None
            finally:
                self.hook.close()  # the app pipeline the pokes shared, and the ARM client
                self._client = None
        from dataclasses import asdict

        from airflow_provider_appservice.triggers.health import AppServiceHealthTrigger

        endpoint, scope = self._endpoint(context)
        target = self.target
        check = asdict(self._check())
        check["expected_status"] = list(check["expected_status"])
        # The trigger stops itself at this wall-clock deadline with the probes' history (a
        # restarted triggerer keeps it); Airflow's own deferral timeout is only the backstop.
        deadline = self.hook.clock.wall() + self.timeout
        backstop = self.timeout + self.request_timeout + 2 * self.poke_interval + 60
        self.defer(
            trigger=AppServiceHealthTrigger(
                azure_app_service_conn_id=self.azure_app_service_conn_id,
                resource_group=target.resource_group,
                app_name=target.app_name,
                slot=target.slot,
                poll_interval=self.poke_interval,
                path=self.path,
                scope=scope,
                hosts=list(endpoint.hosts),
                base_url=endpoint.base_url,
                required_consecutive=self.required_consecutive,
                check=check,
                request_timeout=self.request_timeout,
                deadline=deadline,
                timeout=self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=backstop),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        self._apply_templated_timing()
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.operations.waits import SUCCESS, TIMEOUT, check_event

        checked = check_event(event, "health", {"probes": int, "history": list})
        if checked["status"] == TIMEOUT:
            history = [str(h) for h in checked["history"] or []]
            raise AirflowSensorTimeout(self._timed_out(checked["probes"] or 0, history))
        if checked["status"] != SUCCESS:
            raise AppServiceError(checked["message"] or "the health trigger failed")
        self.log.info("%s%s healthy after %s probes", self.target.label, self.path, checked["probes"])
