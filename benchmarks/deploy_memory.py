"""Deploying a big package: memory of the deploying process and throughput next to curl.

One run prints:

- peak RSS growth of a process that deploys a 1 GiB package (the provider's own path:
  prepare_package -> upload -> track, the code AppServiceDeployOperator runs), measured from
  its RSS after imports and a warm-up request (kernel high-water mark reset via clear_refs);
- the tracemalloc peak while that path uploads a 256 MiB package;
- upload throughput of the provider and of ``curl --data-binary @file`` sending the same file
  through the same CONNECT proxy and CA with a bearer token from the emulator, and their ratio.

Budgets (DESIGN.md): RSS growth <= 32 MiB, tracemalloc peak <= 16 MiB, throughput >= 0.9x curl.
Figures only, no assertions. Packages are generated in a private temp dir (zips of one stored member of
zeros, which is all a transport benchmark needs) and removed afterwards.

    .ci/netguard .venv/bin/python benchmarks/deploy_memory.py [--size-mib 1024] [--trace-mib 256]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def zip_package(path: Path, size: int) -> Path:
    """A valid zip of about ``size`` bytes: one stored (uncompressed) member of zeros (the provider
    refuses a file that is not a zip before any call)."""
    import zipfile

    chunk = b"\0" * MIB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf, zf.open("payload.bin", "w", force_zip64=True) as f:
        for _ in range(size // MIB):
            f.write(chunk)
    return path


# -- the deploying process ------------------------------------------------------------------------


def _set_chunk(kib: int | None) -> None:
    """Experiment with the upload's chunk size."""
    if kib:
        from airflow_provider_appservice.operations.packages import StreamingReader

        assert StreamingReader.__init__.__kwdefaults__ is not None
        StreamingReader.__init__.__kwdefaults__["chunk"] = int(kib) * 1024


def child(spec: dict[str, Any]) -> None:
    """Deploy ``spec['package']`` the way the operator does; print figures as JSON."""
    import logging
    import tracemalloc

    from airflow_provider_appservice.clock import SYSTEM_CLOCK
    from airflow_provider_appservice.identity.config import parse_identity_config
    from airflow_provider_appservice.identity.credentials import get_credential
    from airflow_provider_appservice.operations.deploy import upload
    from airflow_provider_appservice.operations.kudu_status import DeploymentTracker
    from airflow_provider_appservice.operations.packages import prepare_package
    from airflow_provider_appservice.operations.sites import get_site
    from airflow_provider_appservice.operations.targets import AppTarget
    from airflow_provider_appservice.transport.arm import build_arm_client
    from airflow_provider_appservice.transport.scm import build_scm_client

    _set_chunk(spec.get("chunk_kib"))
    logging.basicConfig(level=logging.WARNING)
    log = logging.getLogger("bench")
    config = parse_identity_config("bench", login=spec["client_id"], password=spec["secret"], extras=spec["extras"])
    credential = get_credential(config)
    arm = build_arm_client(config, credential, SYSTEM_CLOCK)
    target = AppTarget(spec["resource_group"], spec["app"])
    site = get_site(arm, target.resource_group, target.app_name)
    scm = build_scm_client(config, credential, str(site.scm_host_name), SYSTEM_CLOCK)
    clock = SYSTEM_CLOCK
    # Warm-up: token, TLS session, pipeline objects all exist before measuring.
    from azure.core.rest import HttpRequest

    scm.send_request(HttpRequest("GET", scm.format_url("/api/settings"))).read()

    def deploy(package: str) -> tuple[float, str | None]:
        with prepare_package(package, "zip", None, logger=log) as pkg:
            result = upload(
                scm, target, pkg, clean=None, restart=None, deadline=clock.now() + 600, clock=clock, logger=log
            )
        tracker = DeploymentTracker(result.deployment_id, started=clock.now(), timeout=600, interval=0.05)
        from airflow_provider_appservice.operations.deploy_tracking import track

        outcome = track(scm, arm, target, tracker, clock=clock, logger=log)
        assert outcome.succeeded, outcome
        return result.seconds, result.checksum

    out: dict[str, Any] = {}
    if spec["mode"] == "rss":
        baseline = _status("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current RSS
            f.write("5")
        seconds, checksum = deploy(spec["package"])
        out = {"baseline": baseline, "peak": _status("VmHWM"), "seconds": seconds, "checksum": checksum}
    elif spec["mode"] == "speed":
        out = {"seconds": [deploy(spec["package"])[0] for _ in range(spec["repeat"])]}
    else:
        tracemalloc.start()
        tracemalloc.reset_peak()
        seconds, checksum = deploy(spec["package"])
        out = {"traced_peak": tracemalloc.get_traced_memory()[1], "seconds": seconds}
    print("RESULT " + json.dumps(out), flush=True)


def run_child(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], env=env, capture_output=True, text=True, timeout=900
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"deploying process failed:\n{(proc.stdout + proc.stderr)[-3000:]}")


# -- curl through the same proxy ------------------------------------------------------------------


def curl_upload(emu: Any, scm_host: str, token: str, package: Path, workdir: Path, mode: str) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of curl POSTing ``package``: ``--data-binary @file`` (curl
    reads the file into memory first) or ``-X POST -T file`` (streamed, like the provider)."""
    headers = workdir / f"headers-{mode}"
    fd = os.open(headers, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:  # the token never appears on a command line
        # "Expect:" off: curl would otherwise wait for a 100 Continue before a large body.
        f.write(f"Authorization: Bearer {token}\nContent-Type: application/octet-stream\nExpect:\n")
    url = f"https://{scm_host}/api/publish?type=zip&async=true"
    cmd = [
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
        "--proxy", emu.proxy_url, "--cacert", emu.ca_path, "-H", f"@{headers}",
        *(["--data-binary", f"@{package}"] if mode.startswith("data-binary") else ["-X", "POST", "-T", str(package)]),
        url,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "http_proxy", "no_proxy")}
    elapsed, peak, out, err = timed_process(cmd, env)
    code = out.split()[0] if out else "?"
    if code != "202":
        raise RuntimeError(f"curl got {code}: {err[-500:]}")
    return elapsed, peak


def timed_process(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str, str]:
    """Wall seconds, peak RSS (bytes: ru_maxrss of that child alone, from wait4), stdout, stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped above; Popen must not wait for it again
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return elapsed, usage.ru_maxrss * 1024, out.read(), err.read()


def curl_runs(emu: Any, site: Any, token: str, big: Path, workdir: Path, repeat: int) -> dict[str, list[float] | str]:
    """Seconds of ``repeat`` curl uploads per mode (or the first error)."""
    # curl's deployments finish at once (nobody polls them), so the next upload is not a 409.
    emu.deployment_behaviour(site, duration=0, stale_latest=0)
    curl: dict[str, list[float] | str] = {}
    for mode in ("data-binary", "upload-file"):
        runs: list[float] = []
        for i in range(repeat):
            emu.deployments(site)  # settle: a finished deployment frees Kudu's lock
            try:
                runs.append(curl_upload(emu, site.scm_host_name, token, big, workdir, f"{mode}-{i}")[0])
            except RuntimeError as exc:
                curl[mode] = str(exc).splitlines()[0]
                break
        else:
            curl[mode] = runs
    return curl


def report(args: Any, rss: dict[str, Any], speed: dict[str, Any], traced: dict[str, Any], curl: dict[str, Any],
           sizes: set[int]) -> None:  # fmt: skip
    size = args.size_mib * MIB
    growth = (rss["peak"] - rss["baseline"]) / MIB
    ours_s = statistics.median(speed["seconds"])
    ours = size / MIB / ours_s
    print(f"package                       {args.size_mib} MiB (zip of zeros), received sizes {sorted(sizes)}")
    print(
        f"deploying process RSS         baseline {rss['baseline'] / MIB:.1f} MiB, peak growth {growth:.1f} MiB (budget 32)"
    )
    print(f"tracemalloc peak ({args.trace_mib} MiB)    {traced['traced_peak'] / MIB:.2f} MiB (budget 16)")
    listed = ", ".join(f"{x:.2f}" for x in speed["seconds"])
    print(f"provider upload               median {ours_s:.2f}s of [{listed}], {ours:.0f} MiB/s")
    for mode, value in curl.items():
        label = "curl --data-binary @file" if mode == "data-binary" else "curl -X POST -T file"
        if isinstance(value, str):
            print(f"{label:<30}{value}")
            continue
        med = statistics.median(value)
        theirs = size / MIB / med
        listed = ", ".join(f"{x:.2f}" for x in value)
        print(f"{label:<30}median {med:.2f}s of [{listed}], {theirs:.0f} MiB/s")
        print(f"{'throughput ratio':<30}provider/curl {ours / theirs:.2f}x (budget >= 0.9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--trace-mib", type=int, default=256)
    parser.add_argument("--chunk-kib", type=int, default=0, help="override the upload chunk size (KiB)")
    parser.add_argument("--repeat", type=int, default=3, help="uploads per client for throughput (median)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return

    from azure.identity import ClientSecretCredential

    from airflow_provider_appservice.testing import AppServiceEmulator

    workdir = Path(tempfile.mkdtemp(prefix="deploy-bench-"))
    try:
        with AppServiceEmulator() as emu, emu.apply_env() as env:
            tenant = emu.add_tenant()
            sub = emu.add_subscription(tenant)
            site = emu.add_site(sub, "rg-bench", "bench")
            sp = emu.add_service_principal(tenant)
            emu.assign_role(sp, "Website Contributor", f"/subscriptions/{sub}")
            emu.deployment_behaviour(site, polls=1, stale_latest=0)
            base = {
                "client_id": sp.client_id,
                "secret": sp.secret,
                "resource_group": "rg-bench",
                "app": "bench",
                "extras": {
                    "auth_type": "service_principal_secret",
                    "tenant_id": tenant.tenant_id,
                    "subscription_id": sub,
                    "ca_bundle": emu.ca_path,
                },
            }
            child_env = {**os.environ, **env}
            big = zip_package(workdir / "big.zip", args.size_mib * MIB)
            small = zip_package(workdir / "trace.zip", args.trace_mib * MIB)

            rss = run_child({**base, "mode": "rss", "package": str(big)}, child_env)
            speed = run_child(
                {**base, "mode": "speed", "package": str(big), "repeat": args.repeat, "chunk_kib": args.chunk_kib},
                child_env,
            )
            traced = run_child({**base, "mode": "trace", "package": str(small)}, child_env)
            token = (
                ClientSecretCredential(tenant.tenant_id, sp.client_id, str(sp.secret), connection_verify=emu.ca_path)
                .get_token("https://management.azure.com/.default")
                .token
            )
            curl = curl_runs(emu, site, token, big, workdir, args.repeat)
            deps = emu.deployments(site)
            sizes = {d.bytes for d in deps}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    report(args, rss, speed, traced, curl, sizes)


if __name__ == "__main__":
    main()
