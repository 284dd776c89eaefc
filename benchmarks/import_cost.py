"""Import cost of every hook, operator, sensor and trigger module over Airflow's own base classes.

Budget (DESIGN.md): at most 20 ms over importing ``airflow.sdk`` and its base classes, and no
``azure.`` module imported (DAG files import operators at every parse). Each figure is the
median of N fresh interpreters with a warm bytecode cache; run with ``python benchmarks/import_cost.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

BASELINE = (
    "from airflow.sdk import BaseHook, BaseOperator, BaseSensorOperator\n"
    "from airflow.triggers.base import BaseTrigger\n"
)


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


def timed(code: str) -> tuple[float, list[str]]:
    probe = (
        "import time, sys\n"
        + BASELINE
        + "t0 = time.perf_counter()\n"
        + code
        + "t1 = time.perf_counter()\n"
        + "import json; print(json.dumps([t1 - t0, sorted(m for m in sys.modules if m.startswith('azure'))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    seconds, azure = json.loads(out.strip().splitlines()[-1])
    return seconds, azure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    modules = provider_modules()
    timed("pass\n")  # warm the bytecode cache
    code = "".join(f"import {m}\n" for m in modules)
    timed(code)
    samples = []
    azure: list[str] = []
    for _ in range(args.runs):
        seconds, azure = timed(code)
        samples.append(seconds * 1000)
    median = statistics.median(samples)
    print(f"modules: {len(modules)} ({', '.join(m.rsplit('.', 1)[-1] for m in modules)})")
    print(
        f"import cost over airflow.sdk base classes: median {median:.1f} ms of {args.runs} runs "
        f"(min {min(samples):.1f}, max {max(samples):.1f}); budget 20 ms -> {median / 20:.2f}x of budget"
    )
    print(f"azure.* modules imported: {len(azure)}{' ' + ', '.join(azure[:5]) if azure else ''}")
    hook_samples = [timed("import airflow_provider_appservice.hooks.app_service\n")[0] * 1000 for _ in range(args.runs)]
    print(f"the hook module alone: median {statistics.median(hook_samples):.1f} ms of {args.runs} runs")
    peer = "import azure.mgmt.web\n"
    peer_samples = [timed(peer)[0] * 1000 for _ in range(args.runs)]
    print(
        f"for scale: importing azure.mgmt.web alone costs {statistics.median(peer_samples):.1f} ms "
        f"({statistics.median(peer_samples) / max(median, 0.1):.0f}x this provider's modules)"
    )


if __name__ == "__main__":
    main()
