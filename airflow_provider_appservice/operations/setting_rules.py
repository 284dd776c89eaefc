"""What App Service takes as a setting: names that can be environment variables, values as text.

Checked before any call, so nothing is coerced silently (``None`` stored as "", a dict as its
Python repr) and a refusal names the setting, never its value.
"""

from __future__ import annotations


def setting_name_problem(name: object) -> str | None:
    """What App Service would not take as a setting or connection string name (None: fine).

    Names become environment variables of the app: no whitespace, ``=`` or control characters.
    """
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not text"
    if not name.strip():
        return "is empty"
    if any(c.isspace() or c == "=" or ord(c) < 0x20 for c in name):
        return "contains whitespace, '=' or a control character, which an environment variable name cannot"
    return None


def setting_value(value: object, argument: str) -> str:
    """A setting's value as App Service stores it (text), refusing what would be coerced silently:
    ``None`` (would become ""), dicts and lists (would become their Python repr). Never shows the value."""
    from airflow_provider_appservice.errors import TaskArgumentError

    if value is None:
        raise TaskArgumentError(
            argument, "is None", "pass '' for an empty value, or list the name in remove= to delete it"
        )
    if isinstance(value, (dict, list, tuple, set, bytes)):
        raise TaskArgumentError(
            argument,
            f"is a {type(value).__name__}, which would be stored as its Python repr",
            "pass text (e.g. json.dumps)",
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
