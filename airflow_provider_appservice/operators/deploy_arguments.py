"""The deploy operator's numbers and flags as a template rendered them, refused before any call
unless they mean what they say."""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_appservice.common.templated import as_bool, as_seconds


def positive_seconds(value: Any, name: str) -> float | None:
    """Seconds a template rendered, refused unless a finite number above 0 (empty: the default)."""
    from airflow_provider_appservice.errors import TaskArgumentError

    seconds = as_seconds(value, name)
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise TaskArgumentError(name, f"{value!r} is not above 0 seconds", f"give {name} in seconds, above 0")
    return seconds


def flag(value: Any, name: str) -> bool | None:
    """A flag a template rendered, refused unless it reads as one (``as_bool`` alone would take
    "maybe" for False)."""
    from airflow_provider_appservice.errors import TaskArgumentError

    if value is None or isinstance(value, bool):
        return value
    if str(value).strip().lower() not in ("", "none", "1", "0", "true", "false", "yes", "no", "on", "off"):
        raise TaskArgumentError(name, f"{str(value)[:50]!r} is not true or false", f"give {name}=True or False")
    return as_bool(value)
