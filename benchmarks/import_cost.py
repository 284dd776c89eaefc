"""Import cost of every hook, operator, sensor and trigger module over Airflow's own base classes,
beside the azure and http providers' operator modules a DAG file would otherwise import.

Budget (issue 14): at most 20 ms over importing ``airflow.sdk`` and its base classes, at most
0.1x the cheapest azure-provider module measured in the same run, and no ``azure.`` module
imported (DAG files import operators at every parse). Each figure is the median of N fresh
interpreters with a warm bytecode cache (``PYTHONPYCACHEPREFIX`` set, a warm-up run first;
``PYTHONDONTWRITEBYTECODE`` unset). The peers run in the bench venv (``make bench`` builds it).

    .venv/bin/python benchmarks/import_cost.py --runs 7 [--peer-python build/bench-venv/bin/python] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BASELINE = (
    "from airflow.sdk import BaseHook, BaseOperator, BaseSensorOperator\n"
    "from airflow.triggers.base import BaseTrigger\n"
)
PEERS = (
    "airflow.providers.microsoft.azure.operators.data_factory",
    "airflow.providers.microsoft.azure.operators.container_instances",
    "airflow.providers.microsoft.azure.sensors.wasb",
    "airflow.providers.http.operators.http",
)
AZURE_PEERS = tuple(p for p in PEERS if ".microsoft.azure." in p)


def provider_modules() -> list[str]:
    from airflow_provider_appservice.get_provider_info import get_provider_info

    info = get_provider_info()
    mods = [
        m
        for key in ("hooks", "operators", "sensors", "triggers")
        for item in info.get(key, [])
        for m in item["python-modules"]
    ]
    return list(dict.fromkeys(mods))


def bench_env() -> dict[str, str]:
    """Warm bytecode: this machine presets PYTHONDONTWRITEBYTECODE, which triples import times."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPYCACHEPREFIX", str(REPO / "build" / "pycache"))
    return env


def timed(code: str, python: str = sys.executable) -> tuple[float, list[str]]:
    """Seconds one fresh interpreter spends on ``code`` after the baseline, and the azure.* modules."""
    probe = (
        "import time, sys\n"
        + BASELINE
        + "t0 = time.perf_counter()\n"
        + code
        + "t1 = time.perf_counter()\n"
        + "import json; print(json.dumps([t1 - t0, sorted(m for m in sys.modules if m.startswith('azure'))]))\n"
    )
    out = subprocess.run(
        [python, "-c", probe], capture_output=True, text=True, check=True, env=bench_env(), cwd=REPO
    ).stdout
    seconds, azure = json.loads(out.strip().splitlines()[-1])
    return seconds, azure


def median_ms(code: str, runs: int, python: str = sys.executable) -> dict[str, Any]:
    """Median, min and max of ``runs`` fresh processes, after one warm-up that writes the bytecode."""
    timed(code, python)
    samples = [timed(code, python)[0] * 1000 for _ in range(runs)]
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples), "runs": runs}


def measure(runs: int, peer_python: str | None, hook_alone: bool = False) -> dict[str, Any]:
    modules = provider_modules()
    code = "".join(f"import {m}\n" for m in modules)
    timed("pass\n")  # warm the baseline's bytecode
    ours = median_ms(code, runs)
    ours["modules"] = len(modules)
    ours["azure_modules_imported"] = timed(code)[1]
    result: dict[str, Any] = {"ours": ours, "azure_mgmt_web": median_ms("import azure.mgmt.web\n", runs), "peers": {}}
    if hook_alone:  # 8 more interpreters: left out of make bench, whose time is budgeted
        result["hook_alone"] = median_ms("import airflow_provider_appservice.hooks.app_service\n", runs)
    if peer_python:
        timed("pass\n", peer_python)
        result["peers"] = {m: median_ms(f"import {m}\n", runs, peer_python) for m in PEERS}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--peer-python", help="python of a venv with the azure and http providers")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    result = measure(args.runs, args.peer_python, hook_alone=not args.json)
    if args.json:
        print(json.dumps(result))
        return
    ours = result["ours"]
    print(
        f"{ours['modules']} modules over airflow.sdk base classes: median {ours['median_ms']:.1f} ms of {args.runs} "
        f"(min {ours['min_ms']:.1f}, max {ours['max_ms']:.1f}); budget 20 ms; azure.* imported: "
        f"{len(ours['azure_modules_imported'])}"
    )
    print(f"the hook module alone: {result['hook_alone']['median_ms']:.1f} ms")
    print(f"azure.mgmt.web alone: {result['azure_mgmt_web']['median_ms']:.1f} ms")
    for module, figure in result["peers"].items():
        print(f"{module}: {figure['median_ms']:.1f} ms ({ours['median_ms'] / figure['median_ms']:.3f}x ours/theirs)")


if __name__ == "__main__":
    main()
