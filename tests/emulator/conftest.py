"""The emulator's own tests share one emulator (the opt-in plugin's fixtures), reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_appservice.testing import AppServiceEmulator
from airflow_provider_appservice.testing.pytest_plugin import (  # noqa: F401  (fixtures)
    appservice_emulator,
    appservice_emulator_session,
)


@pytest.fixture
def emu(appservice_emulator: AppServiceEmulator) -> Iterator[AppServiceEmulator]:  # noqa: F811
    """The shared emulator with its environment applied for the test."""
    with appservice_emulator.apply_env():
        yield appservice_emulator
