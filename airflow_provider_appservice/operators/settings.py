"""Update an app's settings, connection strings and sticky names; verify its Key Vault references."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import conf

from airflow_provider_appservice.audit import audit
from airflow_provider_appservice.hooks.app_service import AppServiceHook
from airflow_provider_appservice.operators.base import AppServiceBaseOperator

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.key_vault_references import ReferenceStatus
    from airflow_provider_appservice.operations.settings import SettingsChange, SettingsResult

JSON_FIELDS = ("settings", "remove", "sticky_settings", "connection_strings", "remove_connection_strings")


def _mask(values: Iterable[Any]) -> None:
    from airflow.sdk.log import mask_secret

    from airflow_provider_appservice.operations.setting_rules import MAX_VALUE_CHARS

    for value in values:
        if isinstance(value, str) and value:
            # A value over App Service's size is refused before any call and never logged; its
            # head is masked (what a truncated rendered field would show), not all of it: a
            # multi-megabyte secret in the masker's pattern slows every later log line.
            mask_secret(value if len(value) <= MAX_VALUE_CHARS else value[:1024])


class AppServiceUpdateAppSettingsOperator(AppServiceBaseOperator):
    """Merge app settings, connection strings and sticky names into an app or slot, then check
    that every Key Vault reference it wrote resolves with the **app's** identity.

    App Service replaces the whole map on every write, so the operator reads, merges and writes:
    nothing it was not told to remove is dropped. It then reads the map back and fails, naming
    the keys, if another writer's update replaced its own (there is no optimistic concurrency).

    Values are secrets: each is masked as soon as the operator has it (at render time too),
    never logged and never returned. XCom carries names only. The dict and list arguments may
    also be templates that render to JSON text (without ``render_template_as_native_obj``).

    :param app_name: the app (site) name.
    :param resource_group: its resource group; defaults to the connection's ``resource_group``.
    :param slot: a deployment slot; ``None`` or ``"production"`` for the production site.
    :param azure_app_service_conn_id: the ``azure_app_service`` connection to use.
    :param settings: app settings to set, ``{name: value}``; ``@Microsoft.KeyVault(...)`` values
        are Key Vault references. App Service's rules apply before any call
        (``operations/setting_rules.py``): names of letters, digits, ``.`` and ``_`` (``:`` on
        Windows); values text, numbers and booleans converted explicitly (``3`` → ``"3"``,
        ``True`` → ``"true"``), at most 32,767 characters; ``None``, dicts and lists refused.
    :param remove: app setting names to delete.
    :param sticky_settings: app setting names to make slot-sticky ("deployment slot setting").
        Sticky names are site-wide in App Service: they apply to every slot of the app.
    :param connection_strings: ``{name: {"value": ..., "type": ...}}``; ``type`` is one of the
        SDK's ``ConnectionStringType`` (``MySql, SQLServer, SQLAzure, PostgreSQL, Custom, ...``,
        any case; default ``Custom``); names and values follow the settings' rules.
    :param remove_connection_strings: connection string names to delete.
    :param verify_key_vault_references: ``True`` (default): wait for every Key Vault reference
        this task wrote to resolve; ``"all"``: every reference in the app settings; ``False``: skip
        (templated; ``"true"``/``"false"``/``"all"`` strings are understood).
    :param key_vault_reference_timeout: seconds to wait for references to leave ``Initialized``
        (templated; a rendered string is read as a number).
    :param poll_interval: seconds between status reads (templated).
    :param deferrable: wait for the Key Vault references in the triggerer (the settings are
        written in the worker); default ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = (
        *AppServiceBaseOperator.template_fields,
        "settings",
        "remove",
        "sticky_settings",
        "connection_strings",
        "remove_connection_strings",
        "verify_key_vault_references",
        "key_vault_reference_timeout",
        "poll_interval",
    )
    template_fields_renderers = {"settings": "json", "connection_strings": "json"}

    def __init__(
        self,
        *,
        app_name: str,
        resource_group: str | None = None,
        slot: str | None = None,
        azure_app_service_conn_id: str = AppServiceHook.default_conn_name,
        settings: dict[str, str] | None = None,
        remove: list[str] | None = None,
        sticky_settings: list[str] | None = None,
        connection_strings: dict[str, dict[str, str]] | None = None,
        remove_connection_strings: list[str] | None = None,
        verify_key_vault_references: bool | Literal["all"] | str = True,
        key_vault_reference_timeout: float | str = 300,
        poll_interval: float | str = 10,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app_name=app_name,
            resource_group=resource_group,
            slot=slot,
            azure_app_service_conn_id=azure_app_service_conn_id,
            **kwargs,
        )
        self.settings = settings
        self.remove = remove
        self.sticky_settings = sticky_settings
        self.connection_strings = connection_strings
        self.remove_connection_strings = remove_connection_strings
        self.verify_key_vault_references = verify_key_vault_references
        self.key_vault_reference_timeout = key_vault_reference_timeout
        self.poll_interval = poll_interval
        self.deferrable = deferrable

    # --- secrets ----------------------------------------------------------------------------

    def _coerce_json(self) -> None:
        """A field rendered to a JSON string (no native rendering) becomes the object it encodes."""
        for name in JSON_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) and value.strip()[:1] in ("{", "["):
                with contextlib.suppress(ValueError):  # else reported by _change(), without the text
                    setattr(self, name, json.loads(value))

    def _mask_values(self) -> None:
        self._coerce_json()
        for value in (self.settings, self.connection_strings):
            if isinstance(value, str):  # not a mapping: _change() refuses it, but it may be a secret
                _mask([value])
        if isinstance(self.settings, Mapping):
            _mask(self.settings.values())
        if isinstance(self.connection_strings, Mapping):
            _mask(c.get("value") for c in self.connection_strings.values() if isinstance(c, Mapping))

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Mask every value right after rendering: the rendered fields go to the API server next."""
        super().render_template_fields(context, jinja_env)
        self._mask_values()

    def _verify_mode(self) -> bool | str:
        mode = self.verify_key_vault_references
        if isinstance(mode, str):
            text = mode.strip().lower()
            if text in ("true", "yes", "1"):
                return True
            if text in ("false", "no", "0", "", "none"):
                return False
            if text == "all":
                return "all"
        if mode is None or isinstance(mode, bool):
            return bool(mode)
        from airflow_provider_appservice.errors import TaskArgumentError

        raise TaskArgumentError("verify_key_vault_references", f"is {mode!r}", "pass True, False or 'all'")

    # --- execution --------------------------------------------------------------------------

    def _change(self) -> SettingsChange:
        """The requested change, every name and value checked by App Service's rules before any call."""
        from airflow_provider_appservice.operations.setting_rules import checked_change

        return checked_change(
            self.settings, self.remove, self.sticky_settings, self.connection_strings, self.remove_connection_strings
        )

    def _checked(self) -> tuple[SettingsChange, bool | str, float, float]:
        """The change, the verify mode, the reference timeout and poll interval, checked before any call."""
        from airflow_provider_appservice.errors import TaskArgumentError
        from airflow_provider_appservice.operations.endpoint import check_positive

        self._mask_values()
        change = self._change()  # every name and value checked
        problems = change.problems()
        if problems:
            raise TaskArgumentError("settings", "; ".join(problems), "name each setting in one place only")
        verify = self._verify_mode()
        if verify != "all" and not any(
            (
                change.settings,
                change.remove,
                change.sticky_settings,
                change.connection_strings,
                change.remove_connection_strings,
            )
        ):
            raise TaskArgumentError(
                "settings",
                "nothing to change: settings, remove, sticky_settings, connection_strings and "
                "remove_connection_strings are all empty",
                "pass what to change, or verify_key_vault_references='all' to only check the references",
            )
        timeout = check_positive(self.key_vault_reference_timeout, "key_vault_reference_timeout", allow_zero=True)
        return change, verify, timeout, check_positive(self.poll_interval, "poll_interval", allow_zero=True)

    @staticmethod
    def _watch(change: SettingsChange, verify: bool | str) -> dict[str, list[str] | None]:
        """Which Key Vault references to wait for: the ones written, or every setting with ``"all"``."""
        from airflow_provider_appservice.operations.key_vault_references import is_key_vault_reference
        from airflow_provider_appservice.operations.settings import APP_SETTINGS, CONNECTION_STRINGS

        watch: dict[str, list[str] | None] = {}
        if not verify:
            return watch
        wrote = [n for n, v in change.settings.items() if is_key_vault_reference(v)]
        wrote_cs = [n for n, c in change.connection_strings.items() if is_key_vault_reference(c.value)]
        if verify == "all" or wrote:
            watch[APP_SETTINGS] = None if verify == "all" else wrote
        if wrote_cs:
            watch[CONNECTION_STRINGS] = wrote_cs
        return watch

    def _resource_id(self) -> str:
        target = self.target
        return (
            f"/subscriptions/{self.hook.identity.require_subscription()}/resourceGroups/{target.resource_group}"
            f"/providers/Microsoft.Web/sites/{target.app_name}" + (f"/slots/{target.slot}" if target.slot else "")
        )

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_appservice.errors import SettingsRaceError
        from airflow_provider_appservice.operations.settings import SettingsResult, apply_settings_change

        change, verify, timeout, interval = self._checked()
        target = self.target
        client = self.hook.get_conn()
        resource_id = self._resource_id()
        self.push_portal_link(context, resource_id)
        result = SettingsResult()
        statuses: dict[str, dict[str, ReferenceStatus]] = {}
        watch = self._watch(change, verify)
        outcome = "failed"
        try:
            apply_settings_change(client, target, change, on_values=_mask, logger=self.log, result=result)
            if watch and self.deferrable:
                outcome = "written-waiting-for-key-vault-references"
            else:
                if watch:
                    outcome = "key-vault-references-unresolved"  # until the wait says otherwise
                    statuses = self._wait_in_worker(watch, timeout, interval)
                outcome = "succeeded"
        except SettingsRaceError:
            outcome = "lost-update"
            raise
        finally:
            # One line per run, also when it failed after writing: what was written is on record
            # (a deferred run adds one line for the references when it resumes).
            self._audit_write(resource_id, outcome, result)
        summary = self._summary(result, change.touches_connection_strings)
        if watch and self.deferrable:
            self._defer(watch, timeout, interval, summary, resource_id)
        return self._value(summary, statuses)

    def _wait_in_worker(
        self, watch: dict[str, list[str] | None], timeout: float, interval: float
    ) -> dict[str, dict[str, ReferenceStatus]]:
        """Wait for the references here; raise naming the ones that do not resolve."""
        from airflow_provider_appservice.operations.key_vault_references import (
            ReferenceWait,
            raise_for_references,
            watch_references,
        )

        target, clock = self.target, self.hook.clock
        wait = ReferenceWait(target.label, watch, deadline=clock.now() + timeout, timeout=timeout, interval=interval)
        verdict = watch_references(self.hook.get_conn(), target, wait, clock=clock, logger=self.log)
        self._log_statuses(target.label, wait.statuses)
        raise_for_references(verdict)
        return wait.statuses

    def _audit_write(self, resource_id: str, outcome: str, result: SettingsResult) -> None:
        audit(
            self.log,
            self.hook.identity,
            "update-app-settings",
            resource_id,
            outcome=outcome,
            request_id=",".join(result.request_ids) or None,
            correlation_id=result.correlation_id,
            written=",".join(result.writes) or "nothing",
            settings=",".join(result.set) or None,
            removed=",".join(result.removed) or None,
            connection_strings=",".join(result.connection_strings_set) or None,
            sticky=",".join(result.sticky) or None,
        )

    def _defer(
        self, watch: dict[str, list[str] | None], timeout: float, interval: float, summary: Any, resource_id: str
    ) -> None:
        from airflow_provider_appservice.triggers.settings import AppServiceKeyVaultReferencesTrigger

        target = self.target
        self.log.info(
            "Deferring: the triggerer waits up to %gs for the Key Vault references of %s", timeout, target.label
        )
        self.defer(
            trigger=AppServiceKeyVaultReferencesTrigger(
                azure_app_service_conn_id=self.azure_app_service_conn_id,
                resource_group=target.resource_group,
                app_name=target.app_name,
                slot=target.slot,
                poll_interval=interval,
                watch=watch,
                deadline=self.hook.clock.wall() + timeout,
                timeout=timeout,
                written=summary,
            ),
            method_name="execute_complete",
            kwargs={"summary": summary, "resource_id": resource_id},
            # The trigger ends itself at its deadline; Airflow's timeout is only the backstop.
            timeout=timedelta(seconds=timeout + interval + 60),
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any], summary: Any = None, resource_id: str | None = None
    ) -> dict[str, Any]:
        """Resume after the Key Vault reference trigger: check its event, then fail or return names."""
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.operations.key_vault_references import (
            raise_for_references,
            references_from_event,
        )
        from airflow_provider_appservice.operations.waits import SUCCESS, TIMEOUT, WaitOutcome, check_event

        checked = check_event(event, "Key Vault reference", {"references": dict, "reads": int, "written": dict})
        target = self.target
        summary = summary if summary is not None else checked["written"]  # dag.test() drops defer kwargs
        if not isinstance(summary, Mapping) or not all(
            isinstance(v, list | tuple) and all(isinstance(n, str) for n in v) for v in summary.values()
        ):
            raise AppServiceError(
                f"Task '{self.task_id}' resumed without the names it wrote ({type(summary).__name__}); clear the task"
            )
        statuses = references_from_event(checked["references"])
        self._log_statuses(target.label, statuses)
        status = checked["status"]
        audit(
            self.log,
            self.hook.identity,
            "verify-key-vault-references",
            resource_id if isinstance(resource_id, str) else target.label,
            outcome="succeeded" if status == SUCCESS else "key-vault-references-unresolved",
            reads=checked["reads"],
        )
        raise_for_references(WaitOutcome(status == SUCCESS, checked["message"], timed_out=status == TIMEOUT))
        return self._value(summary, statuses)

    @staticmethod
    def _summary(result: SettingsResult, touches_connection_strings: bool) -> dict[str, list[str]]:
        """What was written, by name (this crosses a deferral in the task's next kwargs)."""
        summary = {"set": result.set, "removed": result.removed, "sticky": result.sticky}
        if touches_connection_strings:
            summary["connection_strings_set"] = result.connection_strings_set
            summary["connection_strings_removed"] = result.connection_strings_removed
        return summary

    @staticmethod
    def _value(
        summary: Mapping[str, list[str]], statuses: Mapping[str, Mapping[str, ReferenceStatus]]
    ) -> dict[str, Any]:
        from airflow_provider_appservice.operations.settings import APP_SETTINGS, CONNECTION_STRINGS

        value: dict[str, Any] = {
            "set": list(summary.get("set", [])),
            "removed": list(summary.get("removed", [])),
            "sticky": list(summary.get("sticky", [])),
            "key_vault_references": {n: s.status for n, s in sorted(statuses.get(APP_SETTINGS, {}).items())},
        }
        if "connection_strings_set" in summary:
            value["connection_strings_set"] = list(summary["connection_strings_set"])
            value["connection_strings_removed"] = list(summary.get("connection_strings_removed", []))
            value["connection_string_key_vault_references"] = {
                n: s.status for n, s in sorted(statuses.get(CONNECTION_STRINGS, {}).items())
            }
        return value

    def _log_statuses(self, label: str, statuses: Mapping[str, Mapping[str, ReferenceStatus]]) -> None:
        from airflow_provider_appservice.operations.key_vault_references import AREA_LABELS

        every = {f"{AREA_LABELS.get(a, '')}{n}": s for a, named in statuses.items() for n, s in named.items()}
        if every:
            self.log.info(
                "Key Vault references of %s: %s", label, ", ".join(f"{n}={s.status}" for n, s in sorted(every.items()))
            )
