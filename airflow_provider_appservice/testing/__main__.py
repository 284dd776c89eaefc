"""Command line: serve the emulator in the foreground, or run one command inside it.

    python -m airflow_provider_appservice.testing [serve] [--cloud public]
        Seeds the default world, prints ``export`` lines (the environment plus the
        APPSERVICE_EMULATOR_* description of the world) and serves until Ctrl-C / SIGTERM.

    python -m airflow_provider_appservice.testing run [--cloud public] -- COMMAND [ARGS...]
        Seeds the default world, runs COMMAND with that environment and exits with its code.

APPSERVICE_EMULATOR_* variables: CLOUD, TENANT_ID, SUBSCRIPTION_ID, RESOURCE_GROUP, SITE_NAME,
SLOT_NAME, SITE_HOST, SCM_HOST, SLOT_HOST, SP_CLIENT_ID, SP_CLIENT_SECRET (an emulator-only
secret), MI_CLIENT_ID, MI_OBJECT_ID, VAULT_URL, VAULT_SECRET_NAME (holds the SP's secret),
CA_PATH, HTTP_PORT, PROXY_PORT.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
import threading

from airflow_provider_appservice.testing.emulator import AppServiceEmulator
from airflow_provider_appservice.testing.world import seed_default_world


def world_env(emu: AppServiceEmulator, cloud: str, swap_retry_after: int = 15) -> dict[str, str]:
    emu.lro_retry_after = swap_retry_after
    described = seed_default_world(emu, cloud=cloud)
    env = {f"APPSERVICE_EMULATOR_{k.upper()}": v for k, v in described.items()}
    env["APPSERVICE_EMULATOR_CA_PATH"] = emu.ca_path
    env["APPSERVICE_EMULATOR_HTTP_PORT"] = str(emu.http_port)
    env["APPSERVICE_EMULATOR_PROXY_PORT"] = str(emu.proxy_port)
    return {**emu.env, **env}


def _serve(cloud: str, token_format: str, swap_retry_after: int) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with AppServiceEmulator(token_format=token_format) as emu:
        for k, v in sorted(world_env(emu, cloud, swap_retry_after).items()):
            print(f"export {k}={shlex.quote(v)}")
        print("# appservice emulator running; Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def _run(cloud: str, token_format: str, swap_retry_after: int, command: list[str]) -> int:
    import os

    with AppServiceEmulator(token_format=token_format) as emu:
        env = {**os.environ, **world_env(emu, cloud, swap_retry_after)}
        child = subprocess.Popen(command, env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            return child.wait()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_appservice.testing",
        description="The local Azure App Service emulator: serve it, or run one command inside it.",
    )
    modes = parser.add_subparsers(dest="mode")
    serve = modes.add_parser("serve", help="seed the default world, print its export lines and serve (the default)")
    run = modes.add_parser(
        "run",
        help="seed the default world and run COMMAND with its environment",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Seeds the default world and runs COMMAND with the emulator's environment plus\n"
            "APPSERVICE_EMULATOR_* variables describing it; exits with COMMAND's code. The world:\n"
            "  one tenant and subscription, resource group 'rg-demo';\n"
            "  a site 'webapp' (a free name) with slot 'staging';\n"
            "  a service principal and a managed identity, both Website Contributor on rg-demo;\n"
            "  a vault whose secret 'sp-client-secret' holds the principal's secret (the managed\n"
            "  identity may read it)."
        ),
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    for sub in (parser, serve, run):
        sub.add_argument("--cloud", default="public", choices=["public", "china", "usgovernment"])
        sub.add_argument("--token-format", default="jwt", choices=["jwt", "opaque"])
        sub.add_argument(
            "--swap-retry-after",
            type=int,
            default=15,
            metavar="SECONDS",
            help="Retry-After of swap polls (default 15, as Azure; clients here sleep for real, so 1 is quicker)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.mode == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command after --, e.g. run -- pytest tests/")
        return _run(args.cloud, args.token_format, args.swap_retry_after, command)
    return _serve(args.cloud, args.token_format, args.swap_retry_after)


if __name__ == "__main__":
    sys.exit(main())
