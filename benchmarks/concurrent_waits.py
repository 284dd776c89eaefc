"""Deferred waits in one event loop, exactly as a triggerer runs them, and the per-wait pattern.

``ours``: N waits split evenly over deployment, state and health, each built as its sensor or
operator defers it, serialized, re-created from the JSON of its kwargs and ``run()`` in one loop,
each at its default poll interval (POLL below). ``per-wait``: N state waits with a credential and
an ARM client per wait, polling ``web_apps.get`` (the pattern of the azure provider's triggers).
The emulator runs in its own process (``waits_emulator``); its CPU is reported apart.

Per run: RSS growth over the loop's warmed-up baseline, token requests per (identity, audience),
open TCP connections while all wait, seconds from the emulator's flip to the last event, and the
longest stretch the loop was blocked (a heartbeat task's lateness; Airflow warns at 0.2 s).
Budgets (issue 14, 5,000 waits): RSS <= 64 MiB, 1 token per (identity, audience), all done
within two poll intervals, no block over 50 ms. Prints figures; asserts nothing.

    .ci/netguard .venv/bin/python benchmarks/concurrent_waits.py --waits 100,1000 --runs 3 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from waits_emulator import KINDS, emulator_process, site_names  # noqa: E402

# Default poll intervals: the sensors' poke_interval (Airflow's default, 60 s) and the deploy
# operator's growing schedule (poll_interval=None: 2, 4, 8, 16, then every 30 s).
POLL: dict[str, float | None] = {"state": 60.0, "health": 60.0, "deployment": None}
SETTLE_POLL = 30.0  # the deployment schedule's steady interval, for "within two intervals"
MIB = 2**20


def make_trigger(kind: str, name: str, world: dict[str, Any], i: int) -> Any:
    """The trigger its sensor/operator defers with, then serialized and re-created from JSON."""
    from airflow_provider_appservice.triggers.deployment import AppServiceDeploymentTrigger
    from airflow_provider_appservice.triggers.health import AppServiceHealthTrigger
    from airflow_provider_appservice.triggers.state import AppServiceStateTrigger

    common: dict[str, Any] = {"azure_app_service_conn_id": "bench", "resource_group": "rg-bench", "app_name": name}
    trigger: Any
    deadline = time.time() + 3600
    if kind == "state":
        trigger = AppServiceStateTrigger(**common, target_state="Stopped", deadline=deadline, poll_interval=60.0)
    elif kind == "health":
        host = f"{name}.{world['domain']}"
        trigger = AppServiceHealthTrigger(
            **common, poll_interval=60.0, path="/healthz", scope=None, hosts=[host], base_url=f"https://{host}",
            required_consecutive=1, check={"expected_status": [200]}, request_timeout=30, deadline=deadline,
        )  # fmt: skip
    else:
        trigger = AppServiceDeploymentTrigger(**common, deployment_id=world["deployment_ids"][i], deadline=deadline)
    classpath, kwargs = trigger.serialize()
    module, cls = classpath.rsplit(".", 1)
    return getattr(importlib.import_module(module), cls)(**json.loads(json.dumps(kwargs)))


class Heartbeat:
    """Lateness of a 10 ms tick = how long the loop was blocked, per phase; samples RSS too."""

    def __init__(self) -> None:
        self.phase = "warm"
        self.longest: dict[str, float] = {}
        self.peak_rss = 0
        self._proc = psutil.Process()

    async def beat(self) -> None:
        tick, sampled = 0.01, 0.0
        while True:
            started = time.monotonic()
            await asyncio.sleep(tick)
            now = time.monotonic()
            self.longest[self.phase] = max(self.longest.get(self.phase, 0.0), now - started - tick)
            if now - sampled > 0.25:
                self.peak_rss, sampled = max(self.peak_rss, self._proc.memory_info().rss), now


async def ours_wait(trigger: Any) -> str:
    status = "no event"
    async for event in trigger.run():
        status = str(event.payload.get("status"))
    return status


async def per_wait(name: str, world: dict[str, Any]) -> str:
    """A credential and a client per wait, as the azure provider's triggers make them."""
    from azure.identity.aio import ClientSecretCredential
    from azure.mgmt.web.aio import WebSiteManagementClient

    credential = ClientSecretCredential(world["tenant"], world["client_id"], world["secret"])
    async with credential, WebSiteManagementClient(credential, world["sub"]) as client:
        while (await client.web_apps.get("rg-bench", name)).state != "Stopped":
            await asyncio.sleep(60.0)
    return "success"


def connect(world: dict[str, Any]) -> None:
    os.environ.update(world["env"])
    os.environ["AIRFLOW_CONN_BENCH"] = json.dumps(
        {
            "conn_type": "azure_app_service",
            "login": world["client_id"],
            "password": world["secret"],
            "extra": {
                "auth_type": "service_principal_secret",
                "tenant_id": world["tenant"],
                "subscription_id": world["sub"],
                "ca_bundle": world["ca"],
            },
        }
    )


async def warm_up(world: dict[str, Any], mode: str) -> None:
    """One finished wait of each kind first: modules, SSL contexts and pools are the baseline."""
    if mode == "per-wait":
        await per_wait("warm-st", world)
        return
    warm = {"state": "warm-st", "health": "warm-hl", "deployment": "warm-dp"}
    ids = {**world, "deployment_ids": [world["warm_deployment_id"]]}
    await asyncio.gather(*(ours_wait(make_trigger(kind, warm[kind], ids, 0)) for kind in KINDS))


async def ask(conn: Any, command: str) -> Any:
    conn.send(command)
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def start_waits(world: dict[str, Any], mode: str) -> list[asyncio.Task[str]]:
    """Created in the loop as the triggerer does, yielding between triggers."""
    tasks: list[asyncio.Task[str]] = []
    for kind in KINDS:
        for i, name in enumerate(site_names(kind, world["counts"][kind])):
            coro = per_wait(name, world) if mode == "per-wait" else ours_wait(make_trigger(kind, name, world, i))
            tasks.append(asyncio.create_task(coro))
            await asyncio.sleep(0)
    return tasks


async def all_polled(conn: Any, counts: dict[str, int], limit: float = 600) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        seen = await ask(conn, "polled")
        if all(seen[k] >= counts[k] for k in KINDS):
            break
        await asyncio.sleep(1)
    return time.monotonic() - started


async def finish(conn: Any, tasks: list[asyncio.Task[str]], full: bool, heart: Heartbeat) -> dict[str, Any]:
    """Full run: flip and wait for every event. Spread run: stop once all have polled."""
    await asyncio.sleep(2)  # the "wait" phase: every wait is between polls
    if not full:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {"flip_to_last_event_s": None, "not_success": None}
    heart.phase = "flip"
    flipped = await ask(conn, "flip")
    statuses = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=600)
    return {
        "flip_to_last_event_s": time.monotonic() - flipped,
        "not_success": sum(1 for s in statuses if s != "success"),
    }


async def one_run(world: dict[str, Any], conn: Any, mode: str, emulator_pid: int, full: bool) -> dict[str, Any]:
    connect(world)
    await warm_up(world, mode)
    warm_tokens = (await ask(conn, "stats"))["tokens_per_identity_audience"]
    me, emulator = psutil.Process(), psutil.Process(emulator_pid)
    heart = Heartbeat()
    beat = asyncio.create_task(heart.beat())
    await asyncio.sleep(0.5)
    baseline, heart.phase = me.memory_info().rss, "start"
    cpu0, emu_cpu0 = sum(me.cpu_times()[:2]), sum(emulator.cpu_times()[:2])
    tasks = await start_waits(world, mode)
    ramp = await all_polled(conn, world["counts"])
    ramp_rss = me.memory_info().rss
    heart.phase = "count"  # reading /proc for the connections is the benchmark's own work
    connections = len(await asyncio.get_running_loop().run_in_executor(None, me.net_connections, "tcp"))
    heart.phase = "wait"
    ending = await finish(conn, tasks, full, heart)
    beat.cancel()
    stats = await ask(conn, "stats")
    tokens = {k: v - warm_tokens.get(k, 0) for k, v in stats.pop("tokens_per_identity_audience").items()}
    return {
        "mode": mode,
        "full": full,
        "waits": len(tasks),
        "counts": world["counts"],
        "rss_growth_mib": (max(heart.peak_rss, me.memory_info().rss) - baseline) / MIB,
        "rss_growth_after_ramp_mib": (ramp_rss - baseline) / MIB,
        "open_connections": connections,
        "ramp_seconds": ramp,
        "longest_block_ms": max(v for k, v in heart.longest.items() if k in ("start", "wait", "flip")) * 1000,
        "longest_block_by_phase_ms": {k: round(v * 1000, 1) for k, v in heart.longest.items()},
        "cpu_s": sum(me.cpu_times()[:2]) - cpu0,
        "emulator_cpu_s": sum(emulator.cpu_times()[:2]) - emu_cpu0,
        "tokens_per_identity_audience": {k: v for k, v in tokens.items() if v},
        **ending,
        **stats,
    }


def child(mode: str, waits: int, full: bool) -> dict[str, Any]:
    """One run in this (fresh) process, the emulator in another."""
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="appservice-bench-home-"))
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK's per-request INFO lines
    counts = {"state": waits} if mode == "per-wait" else {k: waits // 3 for k in KINDS}
    counts["state"] += waits - sum(counts.values())
    parent, other = multiprocessing.Pipe()
    emulator = multiprocessing.get_context("spawn").Process(target=emulator_process, args=(other, counts))
    emulator.start()
    try:
        world = parent.recv()
        return asyncio.run(one_run(world, parent, mode, emulator.pid or 0, full))
    finally:
        parent.send("stop")
        emulator.join(60)


def run_fresh(mode: str, waits: int, full: bool = True) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, str(waits), "full" if full else "spread"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"waits run {mode} {waits} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")


def measure(waits: list[int], runs: int, spread_at: int, per_wait_at: list[int]) -> dict[str, Any]:
    ours: dict[str, list[dict[str, Any]]] = {}
    for n in waits:
        extra = runs - 1 if n == spread_at else 0  # spread runs stop once all have polled (no flip)
        ours[str(n)] = [run_fresh("ours", n), *(run_fresh("ours", n, full=False) for _ in range(extra))]
    baseline = {str(n): run_fresh("per-wait", n) for n in per_wait_at}
    return {"poll_intervals": {**POLL, "deployment_steady": SETTLE_POLL}, "ours": ours, "per_wait": baseline}


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", default="100,1000,5000", help="concurrent waits per run, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs at --spread-at (the extra ones stop before the flip)")
    parser.add_argument("--spread-at", type=int, default=1000)
    parser.add_argument("--per-wait-at", default="1000", help="sizes for the credential-per-wait pattern")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child[0], int(args.child[1]), args.child[2] == "full")), flush=True)
        return
    result = measure(ints(args.waits), args.runs, args.spread_at, ints(args.per_wait_at))
    if args.json:
        print(json.dumps(result))
        return
    for label, runs in [*result["ours"].items(), *((f"{n} per-wait", [r]) for n, r in result["per_wait"].items())]:
        for r in runs:
            print(
                f"{label:>14}: RSS +{r['rss_growth_mib']:.1f} MiB, conns {r['open_connections']}, "
                f"last event {r['flip_to_last_event_s']}s after the flip, block {r['longest_block_ms']:.0f} ms, "
                f"tokens {r['tokens_per_identity_audience']}, cpu {r['cpu_s']:.1f}s (emulator {r['emulator_cpu_s']:.1f}s)"
            )


if __name__ == "__main__":
    main()
