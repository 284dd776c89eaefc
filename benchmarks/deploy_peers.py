"""Deploying 64 MiB, 256 MiB and 1 GiB packages: the provider beside ``curl -T`` and ``az webapp deploy``.

Each client deploys to its own app of one in-process emulator, through the same CONNECT proxy
and CA. Per size and client: wall seconds and peak RSS growth of the deploying process.

- ours: the provider's deploy path (prepare_package -> upload -> track) in a fresh process
  (``deploy_memory.child``), growth over its RSS after imports and a warm-up request;
- curl: ``-X POST -T file`` (streamed), the transfer's practical limit; growth is its
  ``ru_maxrss`` minus that of the same command sending a 1 MiB zip;
- az: the real Azure CLI (build/azcli, driven as tests/conformance drives it), growth of its
  interpreter's high-water mark (reset via ``clear_refs``) over its RSS after a warm-up deploy.
  az's wall time includes its own deployment-status polling.

Packages are zips of one stored member of zeros: all a transport benchmark needs.

    .ci/netguard .venv/bin/python benchmarks/deploy_peers.py --sizes 64,256,1024 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from deploy_memory import MIB, curl_upload, run_child, zip_package  # noqa: E402


def _proc_status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def seed(emu: Any) -> dict[str, Any]:
    """One principal with Website Contributor rights and an app per client."""
    tenant = emu.add_tenant()
    sub = emu.add_subscription(tenant)
    sites = {name: emu.add_site(sub, "rg-bench", f"bench-{name}") for name in ("ours", "curl", "az")}
    sp = emu.add_service_principal(tenant)
    emu.assign_role(sp, "Contributor", f"/subscriptions/{sub}")
    emu.deployment_behaviour(sites["ours"], polls=1, stale_latest=0)
    for name in ("curl", "az"):
        emu.deployment_behaviour(sites[name], duration=0, stale_latest=0)
    spec = {
        "client_id": sp.client_id,
        "secret": sp.secret,
        "resource_group": "rg-bench",
        "app": sites["ours"].name,
        "extras": {
            "auth_type": "service_principal_secret",
            "tenant_id": tenant.tenant_id,
            "subscription_id": sub,
            "ca_bundle": emu.ca_path,
        },
    }
    return {"tenant": tenant, "sp": sp, "sites": sites, "spec": spec}


def ours(seeded: dict[str, Any], package: Path, env: dict[str, str]) -> dict[str, float]:
    out = run_child({**seeded["spec"], "mode": "rss", "package": str(package)}, env)
    return {"seconds": out["seconds"], "rss_growth_mib": (out["peak"] - out["baseline"]) / MIB}


def curl(emu: Any, seeded: dict[str, Any], package: Path, workdir: Path, tiny: Path) -> dict[str, float]:
    from azure.identity import ClientSecretCredential

    sp, tenant, site = seeded["sp"], seeded["tenant"], seeded["sites"]["curl"]
    credential = ClientSecretCredential(tenant.tenant_id, sp.client_id, sp.secret, connection_verify=emu.ca_path)
    token = credential.get_token("https://management.azure.com/.default").token
    emu.deployments(site)  # settle: a finished deployment frees Kudu's lock
    _, floor = curl_upload(emu, site.scm_host_name, token, tiny, workdir, f"tiny-{package.name}")
    emu.deployments(site)
    seconds, peak = curl_upload(emu, site.scm_host_name, token, package, workdir, f"big-{package.name}")
    return {"seconds": seconds, "rss_growth_mib": (peak - floor) / MIB}


class AzDeployer:
    """The real Azure CLI in one interpreter (tests/conformance's driver), logged in once."""

    def __init__(self, emu: Any, seeded: dict[str, Any], workdir: Path, tiny: Path) -> None:
        from tests.conformance.harness import AzSession

        self._log = open(workdir / "az-driver.log", "w")  # noqa: SIM115 - closed in close()
        self.session = AzSession(emu, workdir / "az-config", self._log)
        self.site = seeded["sites"]["az"]
        sp, tenant = seeded["sp"], seeded["tenant"]
        self.session("login", "--service-principal", "-u", sp.client_id, "-p", sp.secret,
                     "--tenant", tenant.tenant_id).ok()  # fmt: skip
        self.deploy(tiny)  # warm-up: the deploy command's modules belong to the baseline

    def deploy(self, package: Path) -> dict[str, float]:
        pid = self.session._proc.pid
        with open(f"/proc/{pid}/clear_refs", "w") as f:  # reset VmHWM to the current RSS
            f.write("5")
        baseline = _proc_status(pid, "VmRSS")
        result = self.session("webapp", "deploy", "-g", "rg-bench", "-n", self.site.name, "--type", "zip",
                              "--src-path", str(package)).ok()  # fmt: skip
        return {"seconds": result.seconds, "rss_growth_mib": (_proc_status(pid, "VmHWM") - baseline) / MIB}

    def close(self) -> None:
        self.session.close()
        self._log.close()


def measure(sizes_mib: list[int], with_az: bool = True) -> dict[str, Any]:
    from airflow_provider_appservice.testing import AppServiceEmulator

    workdir = Path(tempfile.mkdtemp(prefix="deploy-peers-"))
    results: dict[str, Any] = {}
    try:
        with AppServiceEmulator() as emu, emu.apply_env() as env:
            emu.lro_retry_after = 1  # az sleeps for real: Azure's shape, 1 s instead of 15
            seeded = seed(emu)
            tiny = zip_package(workdir / "tiny.zip", MIB)
            az = AzDeployer(emu, seeded, workdir, tiny) if with_az else None
            try:
                for size in sizes_mib:
                    package = zip_package(workdir / f"package-{size}.zip", size * MIB)
                    row = {
                        "ours": ours(seeded, package, {**os.environ, **env}),
                        "curl": curl(emu, seeded, package, workdir, tiny),
                    }
                    if az is not None:
                        row["az"] = az.deploy(package)
                    results[str(size)] = row
                    package.unlink()
            finally:
                if az is not None:
                    az.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="64,256,1024", help="package sizes in MiB, comma-separated")
    parser.add_argument("--no-az", action="store_true", help="skip the Azure CLI (not installed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure([int(s) for s in args.sizes.split(",") if s], with_az=not args.no_az)
    if args.json:
        print(json.dumps(results))
        return
    for size, row in results.items():
        for client, figure in row.items():
            print(f"{size:>5} MiB {client:<5} {figure['seconds']:7.2f}s  RSS +{figure['rss_growth_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
