"""docs/testing-your-dags.md is executed exactly as written: its files are written out into a
fresh project, which runs its own pytest (its own Airflow home, DAGs folder and database)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from ..support import REPO

PAGE = REPO / "docs" / "testing-your-dags.md"
# A fenced python block whose first line names the file it is: "# tests/conftest.py".
BLOCK = re.compile(r"```python\n# (?P<path>[\w./-]+\.py)\n(?P<body>.*?)```", re.DOTALL)


def recipe_files() -> dict[str, str]:
    files = {m["path"]: f"# {m['path']}\n{m['body']}" for m in BLOCK.finditer(PAGE.read_text())}
    assert set(files) == {"dags/restart_shop.py", "tests/conftest.py", "tests/test_restart_shop.py"}
    return files


def clean_env() -> dict[str, str]:
    """This suite's Airflow and emulator settings must not leak in: the recipe sets up its own."""
    dropped = ("AIRFLOW", "HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and not k.startswith("PYTEST")}
    env.pop("IDENTITY_ENDPOINT", None)
    env.pop("MSI_ENDPOINT", None)
    return env


def test_the_documented_recipe_passes_as_written(tmp_path):
    project = tmp_path / "my_project"
    for path, text in recipe_files().items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "tests/"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
