"""A real Airflow API server (UI + REST API) on loopback, and headless Debian Chromium.

The server runs in its own process group with a throwaway AIRFLOW_HOME; it is only guarded
by the loopback-only network namespace (``.ci/netguard``), so it binds 127.0.0.1 and every
URL here is 127.0.0.1. Chromium is Debian's (``make browser``); Playwright never downloads one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    # Straight to 127.0.0.1 even if an emulator's HTTPS_PROXY is in this process's environment.
    "--no-proxy-server",
]
AIRFLOW = [sys.executable, "-m", "airflow"]
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(home: Path, extra_env: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # This machine presets it; with it every Airflow import is ~3x slower.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra_env)
    return env


@dataclass
class ApiServer:
    """A running ``airflow api-server``; ``api()`` calls its REST API with an admin token."""

    url: str
    home: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    _token: str | None = field(default=None, repr=False)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "<no log>"

    def token(self) -> str:
        if self._token is None:
            # Simple auth manager with all_admins: GET /auth/token hands out an admin JWT.
            with urllib.request.urlopen(f"{self.url}/auth/token", timeout=10) as resp:
                self._token = json.load(resp)["access_token"]
        assert self._token
        return self._token

    def api(self, method: str, path: str, body: Any = None, expect: int | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token()}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        payload = json.loads(raw) if raw else None
        if expect is not None:
            assert status == expect, f"{method} {path} -> {status}: {payload}"
        return status, payload


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def run_api_server(extra_env: Mapping[str, str] | None = None) -> Iterator[ApiServer]:
    """Migrate a fresh SQLite database and run ``airflow api-server`` on 127.0.0.1 until exit."""
    with tempfile.TemporaryDirectory(prefix="appservice-ui-home-") as tmp:
        home = Path(tmp)
        (home / "dags").mkdir()
        env = _server_env(home, extra_env or {})
        migrate = subprocess.run(
            [*AIRFLOW, "db", "migrate"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert migrate.returncode == 0, (
            f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}"
        )

        port = _free_port()
        log_path = home / "api-server.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                env=env,
                cwd=home,  # not the repo: `python -m` puts the cwd first on sys.path
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # own process group: stopped by its PID group below
            )
        server = ApiServer(url=f"http://127.0.0.1:{port}", home=home, log_path=log_path, proc=proc)
        try:
            _wait_healthy(server)
            yield server
        finally:
            _stop(proc)


def _wait_healthy(server: ApiServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"airflow api-server exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/v2/monitor/health", timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (OSError, urllib.error.URLError) as exc:
            last = repr(exc)
        time.sleep(0.25)  # polling interval, bounded by the deadline
    pytest.fail(f"airflow api-server not healthy after {STARTUP_TIMEOUT:.0f}s ({last}):\n{server.log_tail()}")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian Chromium; a missing browser fails the run (the browser test must never skip)."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium).")
    return CHROMIUM


@pytest.fixture(scope="package")
def browser(chromium_path: Path) -> Iterator[Any]:
    """Package-scoped: Playwright's sync API keeps an event loop running in the main thread while
    it lives, and every later test that runs a coroutine (asyncio.run) would find it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (fresh profile, no cookies) with a tall viewport."""
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    context.set_default_timeout(20_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
