"""Opt-in pytest fixtures (not auto-loaded). Enable in your top-level ``conftest.py``::

    pytest_plugins = ["airflow_provider_appservice.testing.pytest_plugin"]

``appservice_emulator`` is one emulator per session, reset before each test (faults, journal,
clock, token settings); seed what each test needs with fresh ids. ``appservice_emulator_env``
also applies its environment (proxy, CA, managed identity endpoints) for the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_appservice.testing.emulator import AppServiceEmulator


@pytest.fixture(scope="session")
def appservice_emulator_session() -> Iterator[AppServiceEmulator]:
    with AppServiceEmulator() as emu:
        yield emu


@pytest.fixture
def appservice_emulator(appservice_emulator_session: AppServiceEmulator) -> Iterator[AppServiceEmulator]:
    emu = appservice_emulator_session
    emu.reset()
    yield emu
    emu.clear_faults()


@pytest.fixture
def appservice_emulator_env(
    appservice_emulator: AppServiceEmulator, monkeypatch: pytest.MonkeyPatch
) -> AppServiceEmulator:
    for key, value in appservice_emulator.env.items():
        monkeypatch.setenv(key, value)
    return appservice_emulator
