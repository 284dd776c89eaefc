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


def as_bool(value: Any) -> bool | None:
    """A flag a template rendered ("true", "0", …); empty or "none" means unset."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "none"):
        return None
    return text in ("1", "true", "yes", "on")
