"""The one table of ``make bench`` (figure, ours, peer, ratio, budget), built from a results JSON
(build/bench/results.json, written by ``run_all.py``), and the markdown section of
docs/performance.md generated from it. Figures only: nothing here judges a time.

    .venv/bin/python benchmarks/report.py build/bench/results.json [--write docs/performance.md]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str, str]  # figure, ours, peer, ratio, budget
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "—" if value is None else format(value, fmt)


def _ratio(ours: float | None, peer: float | None, fmt: str = ".2f") -> str:
    if ours is None or peer is None or abs(peer) < 1e-9:
        return "—"
    return f"{ours / peer:{fmt}}x"


def import_rows(figures: dict[str, Any]) -> list[Row]:
    ours = figures["ours"]
    peers = figures.get("peers", {})
    rows: list[Row] = [
        (f"DAG-parse import, {ours['modules']} modules (ms, median of {ours['runs']})", _num(ours["median_ms"]),
         "", "", "≤ 20 ms"),
    ]  # fmt: skip
    for module, peer in peers.items():
        azure = ".microsoft.azure." in module
        rows.append((f"… vs `{module.removeprefix('airflow.providers.')}` (ms)", _num(ours["median_ms"]),
                     _num(peer["median_ms"]), _ratio(ours["median_ms"], peer["median_ms"], ".3f"),
                     "≤ 0.1x the cheapest azure module" if azure else ""))  # fmt: skip
    rows.append(("… `azure.mgmt.web` alone, for scale (ms)", "", _num(figures["azure_mgmt_web"]["median_ms"]), "", ""))
    rows.append(("… `azure.*` modules imported by ours", str(len(ours["azure_modules_imported"])), "", "", "0"))
    return rows


def deploy_rows(figures: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for size, row in figures.items():
        ours, curl, az = row["ours"], row["curl"], row.get("az")
        mib = float(size)
        rows.append((f"deploy {size} MiB: peak RSS growth (MiB) vs `curl -T`", _num(ours["rss_growth_mib"]),
                     _num(curl["rss_growth_mib"]), "", "≤ 32 MiB"))  # fmt: skip
        if az:
            rows.append((f"deploy {size} MiB: peak RSS growth (MiB) vs `az webapp deploy`",
                         _num(ours["rss_growth_mib"]), _num(az["rss_growth_mib"]),
                         _ratio(ours["rss_growth_mib"], az["rss_growth_mib"], ".3f"), "≤ 32 MiB"))  # fmt: skip
        rows.append((f"deploy {size} MiB: upload throughput (MiB/s) vs `curl -T`", _num(mib / ours["seconds"], ".0f"),
                     _num(mib / curl["seconds"], ".0f"), _ratio(curl["seconds"], ours["seconds"]), "≥ 0.9x"))  # fmt: skip
        if az:
            rows.append((f"deploy {size} MiB: wall time (s) vs `az webapp deploy` (az's includes its polling)",
                         _num(ours["seconds"], ".2f"), _num(az["seconds"], ".2f"),
                         _ratio(ours["seconds"], az["seconds"]), ""))  # fmt: skip
    return rows


def _tokens(run: dict[str, Any] | None) -> str:
    if run is None:
        return "—"
    counts = run["tokens_per_identity_audience"].values()
    return f"{max(counts, default=0)} (of {sum(counts)} in all)"


def _blocks(run: dict[str, Any] | None) -> str:
    if run is None:
        return "—"
    phases = run.get("longest_block_by_phase_ms", {})
    detail = " / ".join(f"{phases[p]:.0f}" for p in ("start", "wait", "flip") if p in phases)
    return f"{run['longest_block_ms']:.0f} ({detail})"


def _wait_rows(n: str, ours: dict[str, Any], peer: dict[str, Any] | None, poll: float) -> list[Row]:
    def get(run: dict[str, Any] | None, key: str) -> float | None:
        return None if run is None else run.get(key)

    last, peer_last = get(ours, "flip_to_last_event_s"), get(peer, "flip_to_last_event_s")
    label = f"{int(n):,} waits"
    return [
        (f"{label}: RSS growth (MiB) vs credential + client per wait", _num(ours["rss_growth_mib"]),
         _num(get(peer, "rss_growth_mib")), _ratio(ours["rss_growth_mib"], get(peer, "rss_growth_mib"), ".3f"),
         "≤ 64 MiB at 5,000"),
        (f"{label}: token requests per (identity, audience)", _tokens(ours), _tokens(peer), "", "1"),
        (f"{label}: flip → last event (s; poll {poll:g} s)", _num(last), _num(peer_last), _ratio(last, peer_last),
         f"≤ {2 * poll:g} s (2 intervals)"),
        (f"{label}: longest loop block (ms; by phase: start, wait, flip)", _blocks(ours), _blocks(peer), "",
         "≤ 50 ms"),
        (f"{label}: open TCP connections while all wait", str(ours["open_connections"]),
         _num(get(peer, "open_connections"), ".0f"), "", ""),
        (f"{label}: loop CPU s (emulator's CPU apart)", f"{ours['cpu_s']:.1f} (emulator {ours['emulator_cpu_s']:.1f})",
         "—" if peer is None else f"{peer['cpu_s']:.1f} (emulator {peer['emulator_cpu_s']:.1f})", "", ""),
    ]  # fmt: skip


def wait_rows(figures: dict[str, Any]) -> list[Row]:
    poll = float(figures["poll_intervals"]["state"])
    rows: list[Row] = []
    for n, runs in figures["ours"].items():
        rows += _wait_rows(n, runs[0], figures["per_wait"].get(n), poll)
        if len(runs) > 1:
            growth = [r["rss_growth_mib"] for r in runs]
            spread = f"{min(growth):.1f} / {statistics.median(growth):.1f} / {max(growth):.1f}"
            rows.append((f"{int(n):,} waits: RSS growth min / median / max of {len(runs)} runs (MiB)", spread, "", "",
                         "≤ 64 MiB at 5,000"))  # fmt: skip
    for n, peer in figures["per_wait"].items():
        if n not in figures["ours"]:
            rows += _wait_rows(n, peer, None, poll)
    return rows


def economy_rows(figures: dict[str, Any]) -> list[Row]:
    names = {"blue_green": "blue/green example", "deploy_5min": "5-minute deployment", "swap": "slot swap"}
    rows: list[Row] = []
    for key, label in names.items():
        if key in figures:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(figures[key]["by_kind"].items()))
            rows.append((f"{label}: requests by kind ({figures[key]['state']})", kinds, "", "", ""))
    if "deploy_5min" in figures:
        rows.append(("5-minute deployment: status requests", str(figures["deploy_5min"]["status_requests"]), "", "",
                     "≤ 20"))  # fmt: skip
    return rows


BUILDERS = {"imports": import_rows, "deploy": deploy_rows, "waits": wait_rows, "economy": economy_rows}


def rows(results: dict[str, Any]) -> list[Row]:
    table: list[Row] = []
    for name, build in BUILDERS.items():
        if name in results.get("benchmarks", {}):
            table += build(results["benchmarks"][name])
    return table


def text_table(table: list[Row]) -> str:
    header: Row = ("figure", "ours", "peer", "ratio", "budget")
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *table])


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        BEGIN,
        f"Measured by `{meta['command']}` on {meta['date']} ({meta['machine']}; load average before the run "
        f"{meta['load_before']}). Peer = the azure/http providers' modules, `curl -T` / `az webapp deploy`, "
        "or a credential and client per wait.",
        "",
        "| Figure | Ours | Peer | Ratio | Budget |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(r)} |" for r in rows(results)),
    ]
    if results.get("errors"):
        lines += ["", "Could not run: " + "; ".join(f"{k}: {v}" for k, v in results["errors"].items())]
    return "\n".join([*lines, END])


def write_section(page: Path, results: dict[str, Any]) -> None:
    text = page.read_text()
    section = markdown(results)
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## `make bench`\n\n" + section + "\n"
    page.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--write", type=Path, help="replace the generated section of this markdown page")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    if args.write:
        write_section(args.write, results)
    else:
        print(text_table(rows(results)))


if __name__ == "__main__":
    main()
