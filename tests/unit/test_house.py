"""The house a newcomer can read (docs/architecture.md): short modules, short functions, and no
wait loop or sleep in the Airflow face. Production code only; ``testing/`` is a separate house.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_appservice"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
THIN_LAYERS = ("operators", "sensors", "triggers", "task_groups")

# Functions still over the limit, each with why. Empty these, never grow them.
LONG_FUNCTIONS_ALLOWED = {
    # The provider-info dict itself (connection form fields): data, not logic.
    "get_provider_info.py::get_provider_info",
}
# Modules of the thin layers that still hold a wait loop or a sleep, each with why. Empty.
LOOPS_ALLOWED: set[str] = set()


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts)


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((prefix + node.name, node))
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
    return found


def _loops_and_sleeps(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.While):
            found.append(f"while loop at line {node.lineno}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sleep":
            found.append(f"{ast.unparse(node.func)}() at line {node.lineno}")
    return found


def test_the_package_is_found() -> None:
    assert len(_modules()) > 40  # a wrong path would make every check below pass vacuously


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_no_module_over_the_limit(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines; split it along its seams"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_no_function_over_the_limit(path: Path) -> None:
    tree = ast.parse(path.read_text())
    long = [
        f"{name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[attr-defined]
        for name, node in _functions(tree)
        if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES  # type: ignore[attr-defined]
        and f"{_name(path)}::{name}" not in LONG_FUNCTIONS_ALLOWED
    ]
    assert not long, f"{_name(path)}: cut into well-named helpers: {', '.join(long)}"


@pytest.mark.parametrize("path", [p for p in _modules() if _name(p).split("/")[0] in THIN_LAYERS], ids=_name)
def test_no_wait_loop_or_sleep_in_the_airflow_face(path: Path) -> None:
    if _name(path) in LOOPS_ALLOWED:
        pytest.skip("allowed for now (see LOOPS_ALLOWED)")
    found = _loops_and_sleeps(ast.parse(path.read_text()))
    assert not found, f"{_name(path)}: waits belong in operations/ (drive/adrive, track/atrack): {found}"


def test_the_allow_lists_name_only_what_exists() -> None:
    functions = {f"{_name(p)}::{n}" for p in _modules() for n, _ in _functions(ast.parse(p.read_text()))}
    assert functions >= LONG_FUNCTIONS_ALLOWED, LONG_FUNCTIONS_ALLOWED - functions
    assert {_name(p) for p in _modules()} >= LOOPS_ALLOWED


def test_the_checks_can_fail() -> None:
    sample = ast.parse("import time\nasync def f():\n    while True:\n        time.sleep(1)\n" + "    x = 1\n" * 70)
    assert len(_loops_and_sleeps(sample)) == 2
    (name, node), *_ = _functions(sample)
    assert name == "f" and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES  # type: ignore[attr-defined]
