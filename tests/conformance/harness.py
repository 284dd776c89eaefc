"""Drives the real Azure CLI (build/azcli, ``make azcli``) against the emulator.

One subprocess of the az venv's python (``az_driver.py``) runs every command of a session, with
the emulator's proxy and CA, telemetry off and a fresh ``AZURE_CONFIG_DIR``, so az knows
nothing but what these commands tell it. Nothing in az is patched.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
AZ_PYTHON = REPO / "build" / "azcli" / "bin" / "python"
DRIVER = Path(__file__).with_name("az_driver.py")


@dataclass
class AzResult:
    args: list[str]
    code: int
    result: Any
    stdout: str
    stderr: str
    seconds: float

    def ok(self) -> AzResult:
        assert self.code == 0, f"az {' '.join(self.args)} exited {self.code}:\n{self.stderr[-3000:]}"
        return self


def az_env(emu: Any, config_dir: Path) -> dict[str, str]:
    """The emulator's proxy and CA, and nothing of this process's Azure or Airflow settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "AIRFLOW"))}
    env.update({k: v for k, v in emu.env.items() if not k.startswith(("IDENTITY_", "AZURE_POD"))})
    env.update(
        {
            "AZURE_CONFIG_DIR": str(config_dir),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_OUTPUT": "json",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_LOGIN_EXPERIENCE_V2": "off",
            "PYTHONWARNINGS": "ignore",
        }
    )
    for var in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE"):  # az's imports are slow uncached
        env.pop(var, None)
    return env


class AzSession:
    """One az interpreter; :meth:`__call__` runs one command in it and returns its result."""

    def __init__(self, emu: Any, config_dir: Path, log: IO[str]) -> None:
        if not AZ_PYTHON.exists():
            raise RuntimeError(f"{AZ_PYTHON} is missing: run `make azcli` (make test does)")
        self.results: list[AzResult] = []
        self._proc = subprocess.Popen(
            [str(AZ_PYTHON), str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=az_env(emu, config_dir),
        )

    def __call__(self, *args: str) -> AzResult:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(list(args)) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the az driver died (exit {self._proc.wait()}); see its log")
        r = json.loads(line)
        result = AzResult(r["args"], r["code"], r["result"], r["stdout"], r["stderr"], r["seconds"])
        self.results.append(result)
        return result

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
