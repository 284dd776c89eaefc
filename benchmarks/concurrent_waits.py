"""1,000 deferred waits in one event loop, as a triggerer runs them.

Budget (DESIGN.md): RSS growth <= 32 MiB over the loop's baseline, one token request per
(identity, audience), and every wait finished within two of the longest poll interval after
the emulator flips. Each wait is an ``AppServiceStateTrigger`` (the real trigger class) for
its own app, all through one connection; they share one credential and one ARM client per
loop. Run: ``.ci/netguard .venv/bin/python benchmarks/concurrent_waits.py [--waits 1000]``.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def emulator_process(conn: Any, waits: int) -> None:
    """The emulator lives in its own process so its memory is not counted as the waits'."""
    from airflow_provider_appservice.testing import AppServiceEmulator

    with AppServiceEmulator() as emu:
        tenant = emu.add_tenant()
        sub = emu.add_subscription(tenant)
        sites = [emu.add_site(sub, "rg-bench", f"app{i:04d}") for i in range(waits)]
        warm = emu.add_site(sub, "rg-bench", "warmup")
        emu.set_site_state(warm, "Stopped")
        sp = emu.add_service_principal(tenant)
        emu.assign_role(sp, "Reader", f"/subscriptions/{sub}")
        conn.send(
            {
                "env": emu.env,
                "ca": emu.ca_path,
                "tenant": tenant.tenant_id,
                "sub": sub,
                "client_id": sp.client_id,
                "secret": sp.secret,
                "sites": [s.name for s in sites],
            }
        )
        while True:
            command = conn.recv()
            if command == "flip":
                for site in sites:
                    emu.set_site_state(site, "Stopped")
                conn.send("flipped")
            elif command == "stats":
                conn.send(
                    {
                        "tokens": emu.token_requests(audience="https://management.azure.com"),
                        "gets": sum(1 for r in emu.requests if r.method == "GET" and "/sites/" in r.path),
                    }
                )
            else:
                return


async def run(world: dict[str, Any], conn: Any, poll: float) -> None:
    from airflow_provider_appservice.hooks.app_service import AppServiceHook
    from airflow_provider_appservice.triggers.state import AppServiceStateTrigger

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
    waits = len(world["sites"])
    triggers = [
        AppServiceStateTrigger(
            azure_app_service_conn_id="bench",
            resource_group="rg-bench",
            app_name=name,
            target_state="Stopped",
            poll_interval=poll,
        )
        for name in world["sites"]
    ]
    # Warm up: the SDK modules and the shared client's first connection belong to the loop's
    # baseline (a triggerer has them loaded), not to the waits.
    import azure.identity.aio
    import azure.mgmt.web.aio  # noqa: F401

    baseline = rss_mib()
    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start(10)
    finished: dict[int, float] = {}

    async def wait(i: int) -> None:
        async for event in triggers[i].run():
            assert event.payload["status"] == "success", event.payload
            finished[i] = time.monotonic()

    tasks = [asyncio.create_task(wait(i)) for i in range(waits)]
    await asyncio.sleep(max(3 * poll, 2.0))  # every wait is polling now
    peak = rss_mib()
    clients = AppServiceHook.shared_client_count()
    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        snapshot = tracemalloc.take_snapshot()
        total = sum(stat.size for stat in snapshot.statistics("filename"))
        print(f"tracemalloc: {total / 2**20:.1f} MiB allocated by Python while waiting")
        for stat in snapshot.statistics("lineno")[:8]:
            print(f"  {stat.size / 2**20:5.1f} MiB {stat.count:6d} blocks  {stat.traceback.format()[0].strip()}")
    conn.send("flip")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    flipped = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
    peak = max(peak, rss_mib())
    slowest = max(finished.values()) - flipped
    conn.send("stats")
    stats = conn.recv()
    print(f"waits: {waits} in one event loop, poll interval {poll:g}s")
    print(f"RSS growth while all wait: {peak - baseline:.1f} MiB over the loop's baseline (budget 32 MiB)")
    print(f"shared ARM clients while waiting: {clients}")
    print(f"token requests: ARM {stats['tokens']} (budget 1 per identity and audience)")
    print(
        f"all finished {slowest:.2f}s after the flip = {slowest / poll:.2f} poll intervals "
        f"(budget 2 intervals = {2 * poll:g}s)"
    )
    print(f"ARM GETs in all: {stats['gets']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between polls of one wait")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="appservice-bench-home-")
    os.environ.setdefault("AIRFLOW_HOME", home)
    sys.path.insert(0, str(REPO))
    logging.getLogger("azure").setLevel(logging.WARNING)
    parent, child = multiprocessing.Pipe()
    emulator = multiprocessing.get_context("spawn").Process(target=emulator_process, args=(child, args.waits))
    emulator.start()
    try:
        world = parent.recv()
        asyncio.run(run(world, parent, args.poll))
    finally:
        parent.send("stop")
        emulator.join(30)


if __name__ == "__main__":
    main()
