"""What App Service takes as a setting or connection string, checked in one place before any call.

Nothing is coerced silently (``None`` stored as "", a dict as its Python repr) and a refusal
names the setting and the fix, never its value.

Names that are *set* follow App Service's documented rule: "App setting names can contain only
letters, numbers (0-9), periods (.), and underscores (_)" (Microsoft Learn, *Configure an App
Service app*), plus ``:``, the hierarchy separator .NET apps on **Windows** use
(``Logging:LogLevel:Default``). On **Linux** App Service passes settings with ``--env``: a ``.``
becomes ``_`` and a ``:`` does not reach the app, so use ``__`` there. Names that are removed or
made sticky name settings that may already exist (the portal accepts more characters), so they
are only checked to be names at all.

Values are text. Numbers and booleans are converted explicitly (``3`` → ``"3"``, ``True`` →
``"true"``); ``None``, containers, bytes and other objects are refused. A value may hold at most
:data:`MAX_VALUE_CHARS` characters: App Service documents no limit, so this is the provider's,
set at Windows' limit for one environment variable (32,767 characters; Linux allows 128 KiB per
``NAME=value``), so every value written can reach the app on either OS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_appservice.errors import TaskArgumentError

if TYPE_CHECKING:
    from airflow_provider_appservice.operations.settings import SettingsChange

MAX_VALUE_CHARS = 32_767
_SET_NAME = re.compile(r"^[A-Za-z0-9_.:]+$")
_NAME_FIX = "use letters, digits, '.' and '_' (App Service's rule; ':' on Windows only, '__' on Linux)"


def setting_name_problem(name: object) -> str | None:
    """What no App Service setting or connection string name can be (None: fine): not text,
    empty, or holding whitespace, ``=`` or a control character (names become environment variables)."""
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not text"
    if not name.strip():
        return "is empty"
    if any(c.isspace() or c == "=" or ord(c) < 0x20 for c in name):
        return "contains whitespace, '=' or a control character, which an environment variable name cannot"
    return None


def new_name_problem(name: object) -> str | None:
    """What App Service's documented rule refuses in a name being set (None: fine)."""
    problem = setting_name_problem(name)
    if problem is None and not _SET_NAME.match(str(name)):
        return "has a character other than letters, digits, '.', '_' or ':'"
    return problem


def setting_value(value: object, argument: str) -> str:
    """A setting's value as App Service stores it (text), refusing what would be coerced silently."""
    if value is None:
        raise TaskArgumentError(
            argument, "is None", "pass '' for an empty value, or list the name in remove= to delete it"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise TaskArgumentError(argument, f"is {value}", "pass a finite number or text")
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        repr_note = ", which would be stored as its Python repr" if isinstance(value, (dict, list, tuple, set)) else ""
        raise TaskArgumentError(argument, f"is a {type(value).__name__}{repr_note}", "pass text (e.g. json.dumps)")
    if len(value) > MAX_VALUE_CHARS:
        raise TaskArgumentError(
            argument,
            f"has {len(value):,} characters; the provider's limit is {MAX_VALUE_CHARS:,} (Windows' limit for one "
            "environment variable, so the app can read it on either OS)",
            "keep large data in Key Vault or storage and put a @Microsoft.KeyVault(...) reference or a URL here",
        )
    return value


def connection_string_type(value: object, name: str) -> str:
    """The connection string type as the SDK's ``ConnectionStringType`` spells it (case-insensitive, like ARM)."""
    from azure.mgmt.web.models import ConnectionStringType

    accepted = [t.value for t in ConnectionStringType]
    if value is None or value == "":
        return "Custom"
    for known in accepted:
        if isinstance(value, str) and value.strip().lower() == known.lower():
            return known
    raise TaskArgumentError(
        f"connection_strings[{name!r}]['type']",
        f"is {str(value)[:40]!r}, not a connection string type",
        f"use one of {', '.join(accepted)}",
    )


def _checked_name(name: Any, argument: str, *, new: bool) -> str:
    problem = new_name_problem(name) if new else setting_name_problem(name)
    if problem:
        fix = _NAME_FIX if new else "use the name as App Service shows it"
        raise TaskArgumentError(argument, f"name {str(name)[:80]!r} {problem}", fix)
    return str(name)


def _names(value: Any, argument: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TaskArgumentError(argument, f"is a {type(value).__name__}", "pass a list of names")
    return tuple(_checked_name(v, argument, new=False) for v in value)


def checked_change(
    settings: Any,
    remove: Any,
    sticky_settings: Any,
    connection_strings: Any,
    remove_connection_strings: Any,
) -> SettingsChange:
    """The requested change with every name and value checked by App Service's rules (values never shown)."""
    from airflow_provider_appservice.operations.settings import ConnectionString, SettingsChange

    if settings is not None and not isinstance(settings, Mapping):
        raise TaskArgumentError("settings", f"is a {type(settings).__name__}", "pass a dict of name to value")
    checked = {
        _checked_name(k, "settings", new=True): setting_value(v, f"settings[{k!r}]")
        for k, v in (settings or {}).items()
    }
    if connection_strings is not None and not isinstance(connection_strings, Mapping):
        raise TaskArgumentError(
            "connection_strings", "is not a dict", "pass a dict of name to {'value': ..., 'type': ...}"
        )
    conns: dict[str, ConnectionString] = {}
    for name, pair in (connection_strings or {}).items():
        if not isinstance(pair, Mapping) or "value" not in pair:
            raise TaskArgumentError(
                "connection_strings", f"{str(name)[:80]!r} has no 'value'", "give {'value': ..., 'type': ...}"
            )
        key = _checked_name(name, "connection_strings", new=True)
        value = pair["value"]
        if not isinstance(value, str):  # a connection string is text: no number or flag conversion
            raise TaskArgumentError(
                f"connection_strings[{key!r}]['value']", f"is a {type(value).__name__}", "pass text"
            )
        conns[key] = ConnectionString(
            setting_value(value, f"connection_strings[{key!r}]['value']"), connection_string_type(pair.get("type"), key)
        )
    return SettingsChange(
        settings=checked,
        remove=_names(remove, "remove"),
        connection_strings=conns,
        remove_connection_strings=_names(remove_connection_strings, "remove_connection_strings"),
        sticky_settings=_names(sticky_settings, "sticky_settings"),
    )
