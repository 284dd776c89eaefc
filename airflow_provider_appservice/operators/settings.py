"""Update an app's settings, connection strings and sticky names; verify its Key Vault references."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule

from airflow_provider_appservice.audit import audit
from airflow_provider_appservice.operators.base import APP_SERVICE_RETRY_POLICY, AppServiceBaseOperator

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_provider_appservice.operations.settings import ConnectionString, ReferenceStatus, SettingsChange
    from airflow_provider_appservice.transport.backoff import Clock

# A reference the app's identity cannot read needs a fix (a role, a secret, a name), not a retry.
SETTINGS_RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=["airflow_provider_appservice.errors.KeyVaultReferenceError"],
            action=RetryAction.FAIL,
            reason="A Key Vault reference does not resolve with the app's identity; a retry cannot fix it",
        ),
        *APP_SERVICE_RETRY_POLICY.rules,
    ]
)


JSON_FIELDS = ("settings", "remove", "sticky_settings", "connection_strings", "remove_connection_strings")


def _mask(values: Iterable[Any]) -> None:
    from airflow.sdk.log import mask_secret

    for value in values:
        if isinstance(value, str) and value:
            mask_secret(value)


class AppServiceUpdateAppSettingsOperator(AppServiceBaseOperator):
    """Merge app settings, connection strings and sticky names into an app or slot, then check
    that every Key Vault reference it wrote resolves with the **app's** identity.

    App Service replaces the whole map on every write, so the operator reads, merges and writes:
    nothing it was not told to remove is dropped. It then reads the map back and fails, naming
    the keys, if another writer's update replaced its own (there is no optimistic concurrency).

    Values are secrets: each is masked as soon as the operator has it (at render time too),
    never logged and never returned. XCom carries names only. The dict and list arguments may
    also be templates that render to JSON text (without ``render_template_as_native_obj``).

    :param settings: app settings to set, ``{name: value}``; ``@Microsoft.KeyVault(...)`` values
        are Key Vault references.
    :param remove: app setting names to delete.
    :param sticky_settings: app setting names to make slot-sticky ("deployment slot setting").
        Sticky names are site-wide in App Service: they apply to every slot of the app.
    :param connection_strings: ``{name: {"value": ..., "type": ...}}``; ``type`` is one of
        ``MySql, SQLServer, SQLAzure, PostgreSQL, Custom, ...`` (default ``Custom``).
    :param remove_connection_strings: connection string names to delete.
    :param verify_key_vault_references: ``True`` (default): wait for every Key Vault reference
        this task wrote to resolve; ``"all"``: every reference in the app settings; ``False``: skip
        (templated; ``"true"``/``"false"``/``"all"`` strings are understood).
    :param key_vault_reference_timeout: seconds to wait for references to leave ``Initialized``
        (templated; a rendered string is read as a number).
    :param poll_interval: seconds between status reads (templated).
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

    # Tests and benchmarks may replace the clock the Key Vault wait uses (see transport.backoff).
    clock: Clock | None = None

    def __init__(
        self,
        *,
        settings: dict[str, str] | None = None,
        remove: list[str] | None = None,
        sticky_settings: list[str] | None = None,
        connection_strings: dict[str, dict[str, str]] | None = None,
        remove_connection_strings: list[str] | None = None,
        verify_key_vault_references: bool | Literal["all"] | str = True,
        key_vault_reference_timeout: float | str = 300,
        poll_interval: float | str = 10,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retry_policy", SETTINGS_RETRY_POLICY)
        super().__init__(**kwargs)
        self.settings = settings
        self.remove = remove
        self.sticky_settings = sticky_settings
        self.connection_strings = connection_strings
        self.remove_connection_strings = remove_connection_strings
        self.verify_key_vault_references = verify_key_vault_references
        self.key_vault_reference_timeout = key_vault_reference_timeout
        self.poll_interval = poll_interval

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
        raise ValueError("verify_key_vault_references must be True, False or 'all'")

    # --- execution --------------------------------------------------------------------------

    def _change(self) -> SettingsChange:
        from airflow_provider_appservice.operations.settings import ConnectionString, SettingsChange

        def names(value: Any, field: str) -> tuple[str, ...]:
            if value is None:
                return ()
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"{field} must be a list of names")
            return tuple(str(v) for v in value)

        if self.settings is not None and not isinstance(self.settings, Mapping):
            raise ValueError("settings must be a mapping of name to value")
        settings = {str(k): "" if v is None else str(v) for k, v in (self.settings or {}).items()}
        conns: dict[str, ConnectionString] = {}
        if self.connection_strings is not None and not isinstance(self.connection_strings, Mapping):
            raise ValueError("connection_strings must be a mapping of name to {'value': ..., 'type': ...}")
        for name, pair in (self.connection_strings or {}).items():
            if not isinstance(pair, Mapping) or not isinstance(pair.get("value"), str):
                raise ValueError(f"connection string {name!r} needs a 'value' string (and optionally a 'type')")
            conns[str(name)] = ConnectionString(pair["value"], str(pair.get("type") or "Custom"))
        return SettingsChange(
            settings=settings,
            remove=names(self.remove, "remove"),
            connection_strings=conns,
            remove_connection_strings=names(self.remove_connection_strings, "remove_connection_strings"),
            sticky_settings=names(self.sticky_settings, "sticky_settings"),
        )

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_appservice.errors import AppServiceError
        from airflow_provider_appservice.operations.settings import (
            APP_SETTINGS,
            CONNECTION_STRINGS,
            SettingsRaceError,
            SettingsResult,
            apply_settings_change,
            is_key_vault_reference,
        )

        self._mask_values()
        try:
            change = self._change()
            problems = change.problems()
        except ValueError as exc:
            raise AppServiceError(f"Task '{self.task_id}': {exc}") from None
        if problems:
            raise AppServiceError(f"Task '{self.task_id}': {'; '.join(problems)}")
        try:
            verify = self._verify_mode()
        except ValueError as exc:
            raise AppServiceError(str(exc)) from None
        try:
            timeout, interval = float(self.key_vault_reference_timeout), max(0.0, float(self.poll_interval))
        except (TypeError, ValueError):
            raise AppServiceError("key_vault_reference_timeout and poll_interval must be numbers of seconds") from None

        target = self.target
        identity = self.hook.identity
        client = self.hook.get_conn()
        resource_id = (
            f"/subscriptions/{identity.require_subscription()}/resourceGroups/{target.resource_group}"
            f"/providers/Microsoft.Web/sites/{target.app_name}" + (f"/slots/{target.slot}" if target.slot else "")
        )
        self.push_portal_link(context, resource_id)
        result = SettingsResult()
        references: dict[str, ReferenceStatus] = {}
        cs_references: dict[str, ReferenceStatus] = {}
        outcome = "failed"
        try:
            apply_settings_change(client, target, change, on_values=_mask, logger=self.log, result=result)
            if verify:
                wrote = [n for n, v in change.settings.items() if is_key_vault_reference(v)]
                wrote_cs = [n for n, c in change.connection_strings.items() if is_key_vault_reference(c.value)]
                if verify == "all":
                    references = self._wait(client, target, None, APP_SETTINGS, timeout, interval)
                elif wrote:
                    references = self._wait(client, target, wrote, APP_SETTINGS, timeout, interval)
                if wrote_cs:
                    cs_references = self._wait(client, target, wrote_cs, CONNECTION_STRINGS, timeout, interval)
                outcome = "key-vault-references-unresolved"
                self._check_references(target.label, references, cs_references, timeout)
            outcome = "succeeded"
        except SettingsRaceError:
            outcome = "lost-update"
            raise
        finally:
            # One line per run, also when it failed after writing: what was written is on record.
            audit(
                self.log,
                identity,
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
        value: dict[str, Any] = {
            "set": result.set,
            "removed": result.removed,
            "sticky": result.sticky,
            "key_vault_references": {n: s.status for n, s in sorted(references.items())},
        }
        if change.touches_connection_strings:
            value["connection_strings_set"] = result.connection_strings_set
            value["connection_strings_removed"] = result.connection_strings_removed
            value["connection_string_key_vault_references"] = {n: s.status for n, s in sorted(cs_references.items())}
        return value

    def _wait(
        self, client: Any, target: Any, names: list[str] | None, area: str, timeout: float, interval: float
    ) -> dict[str, ReferenceStatus]:
        from airflow_provider_appservice.operations.settings import wait_for_key_vault_references
        from airflow_provider_appservice.transport.backoff import PollSchedule

        return wait_for_key_vault_references(
            client,
            target,
            names,
            timeout=timeout,
            schedule=PollSchedule(first=interval, factor=1.0, ceiling=interval),
            area=area,
            clock=self.clock,
            logger=self.log,
        )

    def _check_references(
        self,
        label: str,
        references: Mapping[str, ReferenceStatus],
        cs_references: Mapping[str, ReferenceStatus],
        timeout: float,
    ) -> None:
        from airflow_provider_appservice.errors import KeyVaultReferenceError
        from airflow_provider_appservice.operations.settings import (
            KeyVaultReferenceTimeout,
            describe_reference_failures,
        )

        every = {**references, **{f"connection string {n}": s for n, s in cs_references.items()}}
        if every:
            self.log.info(
                "Key Vault references of %s: %s", label, ", ".join(f"{n}={s.status}" for n, s in sorted(every.items()))
            )
        failed = {n: s for n, s in every.items() if not s.resolved}
        if not failed:
            return
        text = describe_reference_failures(failed)
        if all(s.pending for s in failed.values()):
            raise KeyVaultReferenceTimeout(
                f"Key Vault references of '{label}' did not resolve within "
                f"{timeout:g}s (the settings were written; they resolve with "
                f"the app's own identity):\n{text}"
            )
        raise KeyVaultReferenceError(
            f"Key Vault references of '{label}' do not resolve with the app's identity (the settings were "
            f"written; the app sees these as unresolved, not as the secret):\n{text}"
        )
