"""Suite-wide setup: a throwaway AIRFLOW_HOME, set before anything imports Airflow."""

from __future__ import annotations

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="appservice-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.join(_HOME, "dags"))
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
# Never let a credential fall back to IMDS at its link-local address: the emulator's
# fixtures point identities at loopback, and this points any stray one there too.
os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:9"
for _var in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "AZURE_AUTHORITY_HOST"):
    os.environ.pop(_var, None)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the whole session (tests seed fresh ids); its env applied in-process."""
    from airflow_provider_appservice.testing import AppServiceEmulator

    with AppServiceEmulator() as emu, emu.apply_env():
        yield emu
