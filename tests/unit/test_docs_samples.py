"""Every code sample in the docs and README compiles, and every import in it resolves.

Samples cannot rot silently: a renamed class or module fails here. JSON samples must parse.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def samples(kind: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for i, match in enumerate(FENCE.finditer(page.read_text())):
            if match.group(1) == kind:
                found.append((f"{page.name}#{i}", match.group(2)))
    return found


PYTHON = samples("python")
JSON = samples("json")


def test_there_are_samples_to_check():
    assert len(PYTHON) >= 3 and len(JSON) >= 1


@pytest.mark.parametrize(("where", "code"), PYTHON, ids=[w for w, _ in PYTHON])
def test_python_sample_compiles_and_its_imports_resolve(where, code):
    tree = ast.parse(code, filename=where)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    namespace: dict = {}
    exec(compile(ast.Module(body=imports, type_ignores=[]), where, "exec"), namespace)
    provider_names = [
        alias.asname or alias.name
        for node in imports
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow_provider_appservice")
        for alias in node.names
    ]
    for name in provider_names:
        assert namespace[name] is not None


@pytest.mark.parametrize(("where", "text"), JSON, ids=[w for w, _ in JSON])
def test_json_sample_parses(where, text):
    json.loads(text)
