"""The wheel and sdist as users get them from PyPI.

``make wheelhouse`` (stage 1, network allowed) builds ``build/dist`` and downloads the wheel's
dependencies into ``build/wheelhouse``. These tests (stage 2, inside the loopback-only
namespace) check the artifacts and install the wheel into a fresh venv with ``--no-index``:
only the declared dependencies, none of the dev venv, none of the repo on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

import airflow_provider_appservice

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "build" / "dist"
WHEELHOUSE = REPO / "build" / "wheelhouse"
PACKAGE = "airflow_provider_appservice"
DIST_NAME = "airflow-provider-appservice"
BIN = Path(sys.executable).parent
REBUILD = "run `make wheelhouse`"


def _one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if len(found) != 1:
        pytest.fail(f"expected exactly one {pattern} in {DIST}, found {[p.name for p in found]}: {REBUILD}")
    return found[0]


@pytest.fixture(scope="session")
def wheel() -> Path:
    if not DIST.is_dir():
        pytest.fail(f"{DIST} is missing: {REBUILD}")
    return _one("*.whl")


@pytest.fixture(scope="session")
def sdist() -> Path:
    if not DIST.is_dir():
        pytest.fail(f"{DIST} is missing: {REBUILD}")
    return _one("*.tar.gz")


@pytest.fixture(scope="session")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _dist_info(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        (path,) = [n for n in zf.namelist() if n.endswith(f".dist-info/{name}")]
        return zf.read(path).decode()


def _run(cmd: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


# --- the artifacts --------------------------------------------------------------------------------


def test_twine_check(wheel: Path, sdist: Path) -> None:
    result = _run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_wheel_contents(wheel: Path) -> None:
    result = _run([str(BIN / "check-wheel-contents"), str(wheel)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_wheel_metadata_and_entry_point(wheel: Path) -> None:
    meta = Parser().parsestr(_dist_info(wheel, "METADATA"))
    assert meta["Name"] == DIST_NAME
    assert meta["Version"] == airflow_provider_appservice.__version__, f"stale wheel: {REBUILD}"
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("apache-airflow") and ">=3.3" in r for r in requires), requires

    entry_points = _dist_info(wheel, "entry_points.txt")
    section = entry_points.split("[apache_airflow_provider]", 1)
    assert len(section) == 2, entry_points
    assert "provider_info = airflow_provider_appservice.get_provider_info:get_provider_info" in section[1]


def test_wheel_contains_the_whole_package_and_nothing_else(wheel_names: set[str]) -> None:
    assert f"{PACKAGE}/py.typed" in wheel_names
    assert f"{PACKAGE}/testing/__init__.py" in wheel_names
    assert f"{PACKAGE}/get_provider_info.py" in wheel_names
    source = {p.relative_to(REPO).as_posix() for p in (REPO / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(source - wheel_names)
    assert not missing, f"modules of the working tree missing from the wheel ({REBUILD} if they are new): {missing}"
    top_level = {n.split("/", 1)[0] for n in wheel_names}
    assert top_level == {PACKAGE, f"{PACKAGE}-{airflow_provider_appservice.__version__}.dist-info"}, top_level
    assert not [n for n in wheel_names if "__pycache__" in n or n.endswith(".pyc")]


def test_sdist_contains_sources_and_pyproject(sdist: Path) -> None:
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for required in ("pyproject.toml", "README.md", f"{PACKAGE}/__init__.py", f"{PACKAGE}/py.typed"):
        assert required in names, f"{required} missing from {sdist.name}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


# --- a fresh venv with only the declared dependencies ---------------------------------------------


class FreshVenv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "venv" / "bin" / "python"
        self.airflow = root / "venv" / "bin" / "airflow"
        self.home = root / "airflow-home"
        self.dags = root / "dags"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV", "PIP_")) and k != "PYTHONPATH"
        }
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(self.dags),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            PIP_CONFIG_FILE=os.devnull,  # no machine-wide find-links or index
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        return env

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        # cwd outside the repo, so nothing of the working tree can be imported by accident.
        return _run(list(args), timeout=timeout, env=self.env(), cwd=self.root)


@pytest.fixture(scope="session")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshVenv]:
    if not WHEELHOUSE.is_dir():
        pytest.fail(f"{WHEELHOUSE} is missing: {REBUILD}")
    venv = FreshVenv(tmp_path_factory.mktemp("fresh-venv"))
    venv.home.mkdir()
    shutil.copytree(REPO / "example_dags", venv.dags, ignore=shutil.ignore_patterns("__pycache__", "pycache"))
    created = venv.run(sys.executable, "-m", "venv", str(venv.root / "venv"), timeout=120)
    assert created.returncode == 0, created.stdout + created.stderr
    installed = venv.run(
        str(venv.python),
        "-m",
        "pip",
        "install",
        "-q",
        "--no-index",
        "--find-links",
        str(WHEELHOUSE),
        str(wheel),
        timeout=300,
    )
    assert installed.returncode == 0, f"{installed.stdout}\n{installed.stderr}\n({REBUILD} if a wheel is missing)"
    yield venv


def test_fresh_venv_imports_the_wheel_not_the_repo(fresh_venv: FreshVenv) -> None:
    result = fresh_venv.run(
        str(fresh_venv.python),
        "-c",
        "import airflow_provider_appservice as p, importlib.metadata as m; "
        "print(p.__file__); print(m.version('airflow-provider-appservice'))",
    )
    assert result.returncode == 0, result.stderr
    path, version = result.stdout.split()
    assert Path(path).is_relative_to(fresh_venv.root / "venv"), path
    assert version == airflow_provider_appservice.__version__


def test_every_production_module_imports_with_declared_dependencies(fresh_venv: FreshVenv) -> None:
    """Everything but ``testing`` (its deps are the ``testing`` extra) imports in the fresh venv."""
    script = textwrap.dedent(
        """
        import importlib, json, pkgutil, traceback
        import airflow_provider_appservice as pkg
        failed = {}
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if mod.name.startswith(pkg.__name__ + ".testing"):
                continue
            try:
                importlib.import_module(mod.name)
            except Exception:
                failed[mod.name] = traceback.format_exc(limit=3)
        print(json.dumps(failed))
        """
    )
    result = fresh_venv.run(str(fresh_venv.python), "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    failed = json.loads(result.stdout.strip().splitlines()[-1])
    assert failed == {}, "\n".join(f"{k}:\n{v}" for k, v in failed.items())


def test_airflow_providers_list_shows_the_provider(fresh_venv: FreshVenv) -> None:
    result = fresh_venv.run(str(fresh_venv.airflow), "providers", "list", "--output", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    providers = {p["package_name"]: p for p in json.loads(result.stdout)}
    assert DIST_NAME in providers, sorted(providers)
    assert providers[DIST_NAME]["version"] == airflow_provider_appservice.__version__


def test_example_dags_parse_without_import_errors(fresh_venv: FreshVenv) -> None:
    files = sorted(p.name for p in fresh_venv.dags.glob("*.py") if not p.name.startswith("_"))
    script = textwrap.dedent(
        f"""
        import json
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(fresh_venv.dags)!r}, safe_mode=False)
        print(json.dumps({{
            "import_errors": {{str(k): v for k, v in bag.import_errors.items()}},
            "dags": {{d: bag.dags[d].fileloc for d in bag.dags}},
        }}))
        """
    )
    result = fresh_venv.run(str(fresh_venv.python), "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    bag = json.loads(result.stdout.strip().splitlines()[-1])
    assert bag["import_errors"] == {}, "\n\n".join(f"{k}:\n{v}" for k, v in bag["import_errors"].items())
    files_with_dags = {Path(loc).name for loc in bag["dags"].values()}
    assert [f for f in files if f not in files_with_dags] == [], f"example files defining no DAG; DAGs: {bag['dags']}"
