"""The emulator side of ``concurrent_waits.py``: its own process, so its CPU and memory are not
counted as the waits'. Seeds one app per wait, then answers commands over a pipe:
``polled`` (how many apps of each kind have been polled), ``flip`` (every app reaches the state
its wait waits for), ``stats`` (requests by kind, token requests per identity and audience)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

KINDS = ("state", "health", "deployment")
PREFIX = {"state": "st", "health": "hl", "deployment": "dp"}
DEPLOY_SECONDS = 600  # emulator-clock seconds a deployment runs until the flip advances the clock


def site_names(kind: str, count: int) -> list[str]:
    return [f"{PREFIX[kind]}{i:05d}" for i in range(count)]


def _deployment(emu: Any, site: Any, seconds: float) -> str:
    """A running deployment recorded as Kudu records a received package (no upload needed)."""
    from airflow_provider_appservice.testing.deployments import book_of

    emu.deployment_behaviour(site, duration=seconds, stale_latest=0)
    dep = book_of(emu.world).create(
        site, deployer="bench", message="bench", artifact_type="zip", checksum="0" * 64, size=0,
        package_path=None, restart=False, clean=None, path=None, source="bench",
    )  # fmt: skip
    return str(dep.id)


def seed(emu: Any, counts: dict[str, int]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Apps whose waits are pending (plus one finished warm-up app per kind)."""
    tenant = emu.add_tenant()
    sub = emu.add_subscription(tenant)
    sp = emu.add_service_principal(tenant)
    emu.assign_role(sp, "Website Contributor", f"/subscriptions/{sub}")
    sites: dict[str, list[Any]] = {}
    deployment_ids: list[str] = []
    for kind in KINDS:
        sites[kind] = [emu.add_site(sub, "rg-bench", name) for name in site_names(kind, counts.get(kind, 0))]
    warm = {kind: emu.add_site(sub, "rg-bench", f"warm-{PREFIX[kind]}") for kind in KINDS}
    emu.set_site_state(warm["state"], "Stopped")
    for site in sites["health"]:
        emu.set_health(site, "/healthz", "unhealthy")
    deployment_ids = [_deployment(emu, site, DEPLOY_SECONDS) for site in sites["deployment"]]
    public = {
        "env": emu.env,
        "ca": emu.ca_path,
        "tenant": tenant.tenant_id,
        "sub": sub,
        "client_id": sp.client_id,
        "secret": sp.secret,
        "counts": {kind: len(sites[kind]) for kind in KINDS},
        "deployment_ids": deployment_ids,
        "warm_deployment_id": _deployment(emu, warm["deployment"], 0),
        "domain": warm["state"].default_host_name.split(".", 1)[1],
    }
    return public, sites


def polled(emu: Any) -> dict[str, int]:
    """Apps of each kind that have seen at least one request of their wait."""
    seen: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for r in emu.requests:
        if r.kind == "arm" and "/sites/st" in r.path:
            seen["state"].add(r.path.rsplit("/", 1)[-1])
        elif r.kind == "app" and r.host.startswith("hl"):
            seen["health"].add(r.host.split(".", 1)[0])
        elif r.kind == "scm" and r.host.startswith("dp"):
            seen["deployment"].add(r.host.split(".", 1)[0])
    return {kind: len(names) for kind, names in seen.items()}


def stats(emu: Any) -> dict[str, Any]:
    journal = emu.world.journal
    with journal._lock:  # the benchmark reads the journal's issues, which have no public grouping
        issues = Counter(f"{i.client_id} {i.audience}" for i in journal._issues)
    return {
        "requests_by_kind": dict(Counter(r.kind for r in emu.requests)),
        "tokens_per_identity_audience": dict(issues),
    }


def flip(emu: Any, sites: dict[str, list[Any]]) -> float:
    """Every pending wait's condition becomes true; returns CLOCK_MONOTONIC when all are flipped."""
    for site in sites["state"]:
        emu.set_site_state(site, "Stopped")
    for site in sites["health"]:
        emu.set_health(site, "/healthz", "healthy")
    if sites["deployment"]:
        emu.advance(DEPLOY_SECONDS + 1)
    return time.monotonic()


def emulator_process(conn: Any, counts: dict[str, int]) -> None:
    from airflow_provider_appservice.testing import AppServiceEmulator

    with AppServiceEmulator() as emu:
        public, sites = seed(emu, counts)
        conn.send(public)
        while True:
            command = conn.recv()
            if command == "polled":
                conn.send(polled(emu))
            elif command == "flip":
                conn.send(flip(emu, sites))
            elif command == "stats":
                conn.send(stats(emu))
            else:
                return
