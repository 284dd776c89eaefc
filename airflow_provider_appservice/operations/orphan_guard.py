"""Stop an orphaned task runner's upload at once.

Airflow's task runner is a child of its supervisor. When the supervisor dies (``kill -9`` of a
Celery worker kills the pool process that runs it), the runner is reparented and keeps running
until its next read from the dead supervisor, by which time Kudu may have the whole package and
made a deployment whose id is never stored; the retry then cannot know it exists. So around the
upload the runner (1) asks Linux to SIGKILL it when its parent dies (``PR_SET_PDEATHSIG``;
the connection closes unfinished and Kudu makes no deployment) and (2) checks before every
chunk that its parent is still the one it started with, for systems without ``prctl``.

Why hand-written: the standard library has no ``prctl``, and the package that wraps it
(python-prctl) is a C extension built against libcap; this is one libc call through ctypes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2


class ParentGone(BaseException):
    """The process that started this task runner died during the upload: the upload stops.

    A ``BaseException`` like ``SystemExit``: no ``except Exception`` on the way (urllib3,
    azure-core, the upload's retry loop) may turn it into a retry; nobody is left to read it."""


def _prctl() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return libc.prctl


def parent_death_signal() -> int | None:
    """The parent-death signal set now (0: none), or None where it cannot be read."""
    prctl = _prctl()
    if prctl is None:
        return None
    value = ctypes.c_int(0)
    if prctl(PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0) != 0:
        return None
    return value.value


def _set(sig: int) -> bool:
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0


@contextlib.contextmanager
def orphan_guard(logger: logging.Logger | Any = log) -> Iterator[Callable[[], None]]:
    """Within the block this process dies with its parent; yields the per-chunk check, which
    raises :class:`ParentGone` once the parent changed. The previous setting is restored."""
    parent = os.getppid()
    previous = parent_death_signal()
    armed = _set(signal.SIGKILL)
    if not armed:
        logger.debug("No parent-death signal on this system; checking the parent before every chunk")

    def check() -> None:
        if os.getppid() != parent:
            raise ParentGone(
                f"The process that started this task (pid {parent}) is gone: the upload was stopped before "
                "Kudu had the whole package, so no deployment was made by it"
            )

    try:
        check()  # the parent may have died before the signal was set
        yield check
    finally:
        if armed:
            _set(previous or 0)
