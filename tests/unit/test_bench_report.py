"""benchmarks/report.py: the table of `make bench` and the generated section of docs/performance.md,
from a results JSON alone (no bench venv, no emulator)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _report():
    spec = importlib.util.spec_from_file_location("bench_report", REPO / "benchmarks" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait(growth, tokens, block, last):
    return {
        "rss_growth_mib": growth, "open_connections": 9, "longest_block_ms": block,
        "longest_block_by_phase_ms": {"start": block, "wait": 1.0, "flip": 2.0}, "flip_to_last_event_s": last,
        "cpu_s": 1.0, "emulator_cpu_s": 2.0, "tokens_per_identity_audience": {"sp https://management.azure.com": tokens},
    }  # fmt: skip


RESULTS = {
    "meta": {
        "command": "make bench",
        "date": "2026-11-25 10:00 UTC",
        "machine": "Linux x86_64, 2 cores",
        "load_before": "0.10 0.20 0.30",
    },
    "benchmarks": {
        "imports": {
            "ours": {"median_ms": 10.0, "runs": 7, "modules": 16, "azure_modules_imported": []},
            "azure_mgmt_web": {"median_ms": 150.0},
            "peers": {"airflow.providers.microsoft.azure.sensors.wasb": {"median_ms": 200.0}},
        },
        "deploy": {
            "64": {
                "ours": {"seconds": 2.0, "rss_growth_mib": 0.5},
                "curl": {"seconds": 1.0, "rss_growth_mib": 0.0},
                "az": {"seconds": 8.0, "rss_growth_mib": 64.0},
            }
        },
        "waits": {
            "poll_intervals": {"state": 60.0},
            "ours": {"1000": [_wait(2.5, 1, 30.0, 40.0), _wait(29.5, 1, 20.0, None), _wait(10.0, 1, 25.0, None)]},
            "per_wait": {"1000": _wait(559.0, 1000, 400.0, 50.0)},
        },
        "economy": {"deploy_5min": {"state": "success", "by_kind": {"scm": 17, "arm": 4}, "status_requests": 15}},
    },
    "errors": {"economy_extra": "exit 1: boom"},
}


def test_table_puts_each_figure_beside_its_peer_with_ratio_and_budget():
    rows = {r[0]: r[1:] for r in _report().rows(RESULTS)}
    assert rows["… vs `microsoft.azure.sensors.wasb` (ms)"] == (
        "10.0",
        "200.0",
        "0.050x",
        "≤ 0.1x the cheapest azure module",
    )
    assert rows["deploy 64 MiB: upload throughput (MiB/s) vs `curl -T`"] == ("32", "64", "0.50x", "≥ 0.9x")
    assert rows["deploy 64 MiB: peak RSS growth (MiB) vs `az webapp deploy`"][:3] == ("0.5", "64.0", "0.008x")
    assert rows["1,000 waits: token requests per (identity, audience)"][:2] == (
        "1 (of 1 in all)",
        "1000 (of 1000 in all)",
    )
    assert rows["1,000 waits: longest loop block (ms; by phase: start, wait, flip)"][0] == "30 (30 / 1 / 2)"
    assert rows["1,000 waits: RSS growth min / median / max of 3 runs (MiB)"][0] == "2.5 / 10.0 / 29.5"
    assert rows["5-minute deployment: status requests"] == ("15", "", "", "≤ 20")


def test_section_replaces_only_the_generated_part_of_the_page(tmp_path):
    report = _report()
    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\n\nhand-written\n\n{report.BEGIN}\nold figures\n{report.END}\n\ntail\n")
    report.write_section(page, RESULTS)
    text = page.read_text()
    assert "old figures" not in text and text.startswith("# Performance\n\nhand-written") and text.endswith("tail\n")
    assert "Measured by `make bench` on 2026-11-25 10:00 UTC (Linux x86_64, 2 cores" in text
    assert "| 5-minute deployment: status requests | 15 |  |  | ≤ 20 |" in text
    assert "Could not run: economy_extra: exit 1: boom" in text
    report.write_section(page, RESULTS)  # idempotent: one section, not two
    assert page.read_text() == text
