"""Runs az commands in ONE interpreter of the Azure CLI's own venv (build/azcli).

Not a pytest module: ``harness.AzSession`` starts it with the az venv's python and writes one
JSON list of arguments per line to its stdin; it answers each with one JSON line on stdout
(``{"args", "code", "result", "stdout", "stderr", "seconds"}``), so a test can look at the
emulator between two commands. A fresh ``get_default_cli()`` per command, as ``az`` makes one
per process; the imported modules stay warm, which makes ~40 commands take seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time


def run(args: list[str]) -> dict[str, object]:
    from azure.cli.core import get_default_cli

    started = time.monotonic()
    cli = get_default_cli()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = cli.invoke(args, out_file=out)
        except SystemExit as exc:  # argparse and some command errors exit
            code = exc.code if isinstance(exc.code, int) else 1
    result = getattr(cli, "result", None)
    value = getattr(result, "result", None)
    try:
        json.dumps(value)
    except TypeError:
        value = str(value)
    return {
        "args": args,
        "code": code,
        "result": value,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "seconds": round(time.monotonic() - started, 2),
    }


def main() -> None:
    answers = sys.stdout
    sys.stdout = sys.stderr  # anything az prints outside out_file must not break the protocol
    for line in sys.stdin:
        if line.strip():
            answers.write(json.dumps(run(json.loads(line))) + "\n")
            answers.flush()


if __name__ == "__main__":
    main()
