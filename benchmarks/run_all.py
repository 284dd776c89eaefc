"""``make bench``: every benchmark in one run, one table (figure, ours, peer, ratio, budget).

Never asserts a time: exits non-zero only if a benchmark could not run. Writes every raw figure,
the table and the run's conditions to build/bench/results.json (``report.py`` renders
docs/performance.md from it). Meant to run inside the loopback-only namespace (``make bench``).
Sizes and counts come from the environment, so a smoke run can use small ones:

- ``BENCH_ONLY``: a subset of imports,deploy,waits,economy (default: all);
- ``BENCH_IMPORT_RUNS`` (7); ``BENCH_SIZES`` MiB (64,256,1024);
- ``BENCH_WAITS`` (100,1000,5000), ``BENCH_RUNS`` (3, at ``BENCH_SPREAD_AT``, 1000),
  ``BENCH_PER_WAIT_AT`` (1000: the credential-per-wait pattern's sizes).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "build" / "bench" / "results.json"
PEER_PYTHON = REPO / "build" / "bench-venv" / "bin" / "python"
AZ_PYTHON = REPO / "build" / "azcli" / "bin" / "python"
sys.path.insert(0, str(REPO / "benchmarks"))

from report import rows, text_table  # noqa: E402


def setting(name: str, default: str) -> str:
    return os.environ.get(name, default).replace(" ", "")


def commands() -> dict[str, list[str]]:
    """Each benchmark's command line; every one prints one JSON object with ``--json``."""
    bench = REPO / "benchmarks"
    imports = [str(bench / "import_cost.py"), "--runs", setting("BENCH_IMPORT_RUNS", "7")]
    if PEER_PYTHON.exists():
        imports += ["--peer-python", str(PEER_PYTHON)]
    deploy = [str(bench / "deploy_peers.py"), "--sizes", setting("BENCH_SIZES", "64,256,1024")]
    if not AZ_PYTHON.exists():
        deploy.append("--no-az")
    waits = [
        str(bench / "concurrent_waits.py"),
        *("--waits", setting("BENCH_WAITS", "100,1000,5000"), "--runs", setting("BENCH_RUNS", "3")),
        *("--spread-at", setting("BENCH_SPREAD_AT", "1000"), "--per-wait-at", setting("BENCH_PER_WAIT_AT", "1000")),
    ]
    economy = [str(bench / "request_economy.py")]
    everything = {"imports": imports, "deploy": deploy, "waits": waits, "economy": economy}
    only = [n for n in setting("BENCH_ONLY", ",".join(everything)).split(",") if n]
    return {name: everything[name] for name in only}


def bench_env() -> dict[str, str]:
    """Warm bytecode for everyone: this machine presets PYTHONDONTWRITEBYTECODE."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPYCACHEPREFIX", str(REPO / "build" / "pycache"))
    return env


def run_one(name: str, argv: list[str], log: Path) -> tuple[dict[str, Any] | None, str | None, float]:
    """Figures (the last stdout line, JSON) or why the benchmark could not run; seconds taken."""
    started = time.monotonic()
    print(f"[bench] {name}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    with open(log, "w") as err:
        proc = subprocess.run([sys.executable, *argv, "--json"], stdout=subprocess.PIPE, stderr=err, text=True,
                              env=bench_env(), cwd=REPO)  # fmt: skip
    seconds = time.monotonic() - started
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = log.read_text()[-400:].strip().splitlines()
        return None, f"exit {proc.returncode}: {tail[-1] if tail else 'no output'} (log: {log})", seconds
    return json.loads(lines[-1]), None, seconds


def meta(started: str, load: tuple[float, float, float], seconds: float) -> dict[str, Any]:
    return {
        "command": "make bench",
        "date": started,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": " ".join(f"{x:.2f}" for x in load),
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seconds": round(seconds, 1),
        "config": {k: v for k, v in os.environ.items() if k.startswith("BENCH_")},
    }


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load, t0 = os.getloadavg(), time.monotonic()
    results: dict[str, Any] = {"benchmarks": {}, "errors": {}, "seconds": {}}
    for name, argv in commands().items():
        figures, error, seconds = run_one(name, argv, OUT.parent / f"{name}.log")
        results["seconds"][name] = round(seconds, 1)
        if figures is not None:
            results["benchmarks"][name] = figures
        else:
            results["errors"][name] = error
    results["meta"] = meta(started, load, time.monotonic() - t0)
    table = rows(results)
    results["table"] = [list(r) for r in table]
    OUT.write_text(json.dumps(results, indent=1))
    print(text_table(table))
    for name, error in results["errors"].items():
        print(f"COULD NOT RUN {name}: {error}")
    took = ", ".join(f"{k} {v:.0f}s" for k, v in results["seconds"].items())
    print(f"\n{results['meta']['seconds']:.0f}s in all ({took}); load {results['meta']['load_before']} -> "
          f"{results['meta']['load_after']}; figures in {OUT.relative_to(REPO)}")  # fmt: skip
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
