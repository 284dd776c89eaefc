"""Task arguments as a template rendered them (text), read back as the numbers and flags they mean."""

from __future__ import annotations

from typing import Any


def as_seconds(value: Any, name: str) -> float | None:
    """Seconds a template rendered (text or a number); empty means unset. Refuses anything else."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        from airflow_provider_appservice.errors import TaskArgumentError

        raise TaskArgumentError(name, f"{value!r} is not a number of seconds", "give a number") from None


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def as_bool(value: Any, name: str = "flag") -> bool | None:
    """A flag a template rendered ("true", "0", …); empty or "none" means unset. Anything else is
    refused: reading "maybe" as False would do what nobody asked."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "none"):
        return None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    from airflow_provider_appservice.errors import TaskArgumentError

    raise TaskArgumentError(name, f"{str(value)[:40]!r} is not true or false", "give True or False")
