"""Kudu deployments as a state machine driven by the emulator's clock or by status polls.

No I/O happens here except reading a finished package (for its build label); the SCM router
(``kudu``) streams uploads to disk and the ARM route (``arm_deployments``) reads the runtime
status. Everything is guarded by the world's lock, which callers pass in.

**Progress.** A deployment advances in *units*: seconds of emulator clock since it was received
(``duration`` mode) or status polls (``polls`` mode: Kudu ``/api/deployments/latest`` and
``/{id}`` GETs and ARM ``deploymentStatus/{id}`` GETs of that deployment all count). With
``polls=N`` the first poll sees the deployment just received and the N-th poll is the first to see
it finished; with ``duration=D`` it is finished D seconds after upload. Before that Kudu's status
runs 0 Pending → 1 Building → 2 Deploying by thirds, unless ``jump`` hides the middle (Linux
Kudu reports 0 while its deployment lock is held, so recorded Linux traffic goes 0 → 4). The ARM
runtime status runs ``BuildRequestReceived`` → ``BuildInProgress`` → (``RuntimeStarting`` for
``runtime_after`` more units) → final.

**Build labels.** On success the site's or slot's ``build`` becomes the package's label: the text
of a top-level ``BUILD`` file when the package is a zip holding one (stripped, at most 200
characters), else ``sha256:`` and the first 12 hex digits of the package's sha256.

UNVERIFIED against today's service: the exact wording of log messages and ``status_text``; the
``temp-`` id shape of the stale record; whether ARM knows a deployment that was not sent with
``trackDeploymentProgress=true`` (here: it does); that a slot's runtime status *ends* (200) at
``BuildSuccessful`` rather than staying 202; the failed ARM status's ``errors`` entries.
"""

from __future__ import annotations

import os
import secrets
import uuid
import weakref
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from airflow_provider_appservice.testing.model import Site
from airflow_provider_appservice.testing.state import World

PENDING, BUILDING, DEPLOYING, FAILED, SUCCESS = 0, 1, 2, 3, 4
OUTCOMES = ("success", "failed")
RUNTIME_FINALS = ("RuntimeSuccessful", "RuntimeFailed", "BuildSuccessful")
LOG_MESSAGE, LOG_WARNING, LOG_ERROR = 0, 1, 2
BUILD_FILE = "BUILD"
DEFAULT_POLLS = 3


@dataclass(frozen=True)
class DeploymentBehaviour:
    """How the next deployments of one site or slot go (see ``AppServiceEmulator.deployment_behaviour``)."""

    duration: float | None = None
    polls: int | None = None
    outcome: str = "success"
    log_lines: tuple[str, ...] = ()
    error: str = "Build failed: the emulated build command exited with code 1."
    stale_latest: int = 1
    jump: bool | None = None
    runtime: str | None = None
    runtime_after: float = 0
    instances: int = 1
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if self.duration is not None and self.polls is not None:
            raise ValueError("give duration (emulator seconds) or polls (status requests), not both")
        if self.duration is not None and self.duration < 0:
            raise ValueError("duration must be >= 0")
        if self.polls is not None and self.polls < 1:
            raise ValueError("polls must be >= 1 (the N-th status poll is the first to see it finished)")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        if self.runtime is not None and self.runtime not in RUNTIME_FINALS:
            raise ValueError(f"runtime must be one of {RUNTIME_FINALS}")
        if self.runtime_after < 0 or self.instances < 1 or self.stale_latest < 0:
            raise ValueError("runtime_after and stale_latest must be >= 0, instances >= 1")

    @property
    def by_polls(self) -> bool:
        return self.duration is None


@dataclass
class LogEntry:
    id: str
    time: float
    message: str
    type: int = LOG_MESSAGE
    details: list[LogEntry] = field(default_factory=list)
    at: float = 0.0  # progress fraction from which it is visible (1.0: once finished)


@dataclass(eq=False)
class Deployment:
    """One Kudu deployment. ``checksum``/``bytes`` describe the package; its content is on disk
    (``package_path``) and never in memory or in the journal."""

    id: str
    site: Site
    deployer: str
    message: str
    artifact_type: str
    received: float
    behaviour: DeploymentBehaviour
    windows: bool
    jump: bool
    runtime_final: str
    checksum: str
    bytes: int
    package_path: str | None
    build_label: str
    restart: bool = True
    clean: bool | None = None
    path: str | None = None
    source: str = "body"  # "body" or "packageUri"
    author: str = "N/A"
    author_email: str = "N/A"
    polls: int = 0
    latest_polls: int = 0
    temp_id: str = field(default_factory=lambda: f"temp-{secrets.token_hex(4)}")
    end: float | None = None
    status: int = PENDING
    restarted: bool = False
    fetch_error: str | None = None
    log: list[LogEntry] = field(default_factory=list, repr=False)

    @property
    def complete(self) -> bool:
        return self.end is not None

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCESS

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    @property
    def outcome(self) -> str:
        return "failed" if self.fetch_error else self.behaviour.outcome

    @property
    def error(self) -> str:
        return self.fetch_error or self.behaviour.error


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_label(package_path: str | None, checksum: str) -> str:
    """``BUILD`` text of a zip package, else ``sha256:<12 hex>`` (see the module docstring)."""
    if package_path:
        try:
            with zipfile.ZipFile(package_path) as zf:
                if BUILD_FILE in zf.namelist():
                    with zf.open(BUILD_FILE) as f:
                        text = f.read(200).decode("utf-8", "replace").strip()
                    if text:
                        return text
        except (zipfile.BadZipFile, OSError):
            pass
    return f"sha256:{checksum[:12]}"


class DeploymentBook:
    """Every site's deployments, behaviours and upload reservations. Call with ``lock`` held or
    not: each public method takes it (it is re-entrant)."""

    def __init__(self, lock: Any, now: Callable[[], float], directory: str) -> None:
        self.lock = lock
        self.now = now
        self.directory = directory
        self.behaviours: dict[str, DeploymentBehaviour] = {}
        self.by_site: dict[str, list[Deployment]] = {}
        self.by_id: dict[str, Deployment] = {}
        self.uploading: set[str] = set()
        self.restarts: dict[str, list[float]] = {}

    # -- configuration ---------------------------------------------------------------------------
    def set_behaviour(self, site: Site, behaviour: DeploymentBehaviour) -> None:
        with self.lock:
            self.behaviours[site.id.lower()] = behaviour

    def behaviour(self, site: Site) -> DeploymentBehaviour:
        with self.lock:
            return self.behaviours.get(site.id.lower(), DeploymentBehaviour())

    def package_file(self) -> str:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        return os.path.join(self.directory, f"package-{uuid.uuid4().hex}.bin")

    # -- uploads -----------------------------------------------------------------------------------
    def reserve(self, site: Site) -> bool:
        """Take the site's deployment lock for an upload; False if a deployment runs or uploads."""
        key = site.id.lower()
        with self.lock:
            if key in self.uploading or self.running(site) is not None:
                return False
            self.uploading.add(key)
            return True

    def release(self, site: Site) -> None:
        with self.lock:
            self.uploading.discard(site.id.lower())

    def create(
        self,
        site: Site,
        *,
        deployer: str,
        message: str,
        artifact_type: str,
        checksum: str,
        size: int,
        package_path: str | None,
        restart: bool,
        clean: bool | None,
        path: str | None,
        source: str,
        fetch_error: str | None = None,
        author: str = "N/A",
        author_email: str = "N/A",
        sync: bool = False,
    ) -> Deployment:
        """Record a received package as a new deployment (releases the upload reservation). A
        synchronous one finishes at once: its time passed while the request was open."""
        with self.lock:
            behaviour = self.behaviour(site)
            if sync:
                behaviour = replace(behaviour, duration=0.0, polls=None, stale_latest=0)
            windows = "linux" not in site.kind.lower()
            jump = behaviour.jump if behaviour.jump is not None else not windows
            runtime = behaviour.runtime or ("BuildSuccessful" if site.slot else "RuntimeSuccessful")
            now = self.now()
            dep = Deployment(
                id=str(uuid.uuid4()),
                site=site,
                deployer=deployer,
                message=message,
                artifact_type=artifact_type,
                received=now,
                behaviour=behaviour,
                windows=windows,
                jump=jump,
                runtime_final=runtime,
                checksum=checksum,
                bytes=size,
                package_path=package_path,
                build_label=build_label(package_path, checksum) if not fetch_error else "",
                restart=restart,
                clean=clean,
                path=path,
                source=source,
                fetch_error=fetch_error,
                author=author,
                author_email=author_email,
            )
            dep.log = self._log_for(dep)
            key = site.id.lower()
            previous = self.by_site.setdefault(key, [])
            for old in previous:  # keep only the newest package of a site on disk
                if old.package_path and os.path.exists(old.package_path):
                    os.unlink(old.package_path)
                    old.package_path = None
            previous.append(dep)
            self.by_id[dep.id] = dep
            self.uploading.discard(key)
            self.settle(dep)
            return dep

    def _log_for(self, dep: Deployment) -> list[LogEntry]:
        t = dep.received

        def entry(message: str, at: float, kind: int = LOG_MESSAGE, details: list[LogEntry] | None = None) -> LogEntry:
            return LogEntry(str(uuid.uuid4()), t, message, kind, details or [], at)

        lines = list(dep.behaviour.log_lines)
        details = [entry(line, 1 / 3) for line in lines]
        if dep.failed:
            details.append(entry(dep.error, 1.0, LOG_ERROR))
        where = f"deployer = {dep.deployer} deploymentPath = {dep.deployer}"
        log = [
            entry("Fetching changes.", 0.0),
            entry(
                f"Cleaning up temp folders from previous zip deployments and extracting pushed {dep.artifact_type}.",
                1 / 3,
            ),
            entry("Running deployment command...", 1 / 3, details=details),
        ]
        if dep.failed:
            log.append(entry(f"Deployment Failed. {where}. Error: {dep.error}", 1.0, LOG_ERROR))
        else:
            log.append(entry(f"Deployment successful. {where}", 1.0))
        return log

    # -- progress ------------------------------------------------------------------------------------
    def _units(self, dep: Deployment) -> tuple[float, float]:
        """(elapsed units, units until Kudu's terminal status)."""
        b = dep.behaviour
        if b.duration is not None:
            return self.now() - dep.received, b.duration
        n = b.polls or DEFAULT_POLLS
        return dep.polls - 1, n - 1

    def fraction(self, dep: Deployment) -> float:
        if dep.complete:
            return 1.0
        u, total = self._units(dep)
        if u < 0:
            return 0.0
        return 1.0 if total <= 0 else min(1.0, u / total)

    def settle(self, dep: Deployment) -> None:
        """Apply what time (or polls) did: finish the deployment once its units ran out."""
        with self.lock:
            if dep.complete:
                return
            u, total = self._units(dep)
            if u < total or u < 0:
                return
            b = dep.behaviour
            dep.end = dep.received + total if b.duration is not None else self.now()
            if dep.failed:
                dep.status = FAILED
                return
            dep.status = SUCCESS
            dep.site.build = dep.build_label
            if dep.restart:
                dep.restarted = True
                self.restarts.setdefault(dep.site.id.lower(), []).append(dep.end)

    def poll(self, dep: Deployment) -> None:
        """Count one status poll of ``dep`` (drives ``polls`` mode) and settle it."""
        with self.lock:
            dep.polls += 1
            self.settle(dep)

    def kudu_status(self, dep: Deployment) -> int:
        """The status Kudu reports for ``dep`` now (0 while running when ``jump``)."""
        with self.lock:
            if dep.complete:
                return dep.status
            if dep.jump:
                return PENDING
            f = self.fraction(dep)
            return PENDING if f < 1 / 3 else BUILDING if f < 2 / 3 else DEPLOYING

    def runtime_status(self, dep: Deployment) -> tuple[str, bool]:
        """(ARM ``DeploymentBuildStatus``, whether it is final)."""
        with self.lock:
            if not dep.complete:
                f = self.fraction(dep)
                return ("BuildRequestReceived" if f < 1 / 3 else "BuildInProgress"), False
            if dep.status == FAILED:
                return "BuildFailed", True
            if dep.runtime_final == "BuildSuccessful":
                return "BuildSuccessful", True
            u, total = self._units(dep)
            if dep.behaviour.duration is None:
                u = max(u, total)
            if u < total + dep.behaviour.runtime_after:
                return "RuntimeStarting", False
            return dep.runtime_final, True

    # -- reads ---------------------------------------------------------------------------------------
    def of_site(self, site: Site) -> list[Deployment]:
        """Oldest first, settled."""
        with self.lock:
            deps = list(self.by_site.get(site.id.lower(), []))
            for d in deps:
                self.settle(d)
            return deps

    def get(self, site: Site, deployment_id: str) -> Deployment | None:
        with self.lock:
            dep = self.by_id.get(deployment_id.lower())
            if dep is None or dep.site is not site:
                return None
            return dep

    def running(self, site: Site) -> Deployment | None:
        with self.lock:
            for d in self.of_site(site):
                if not d.complete:
                    return d
            return None

    def log_visible(self, dep: Deployment) -> list[LogEntry]:
        with self.lock:
            f = self.fraction(dep)
            shown = []
            for e in dep.log:
                if e.at <= f:
                    shown.append(replace(e, details=[d for d in e.details if d.at <= f]))
            return shown

    def last_success_end(self, dep: Deployment) -> float | None:
        with self.lock:
            ends = [
                d.end
                for d in self.by_site.get(dep.site.id.lower(), [])
                if d.status == SUCCESS and d.end is not None and d.received <= dep.received
            ]
            return max(ends) if ends else None

    def active(self, site: Site) -> Deployment | None:
        """The deployment the site serves (the last successful one)."""
        with self.lock:
            done = [d for d in self.of_site(site) if d.status == SUCCESS]
            return max(done, key=lambda d: d.end or 0.0) if done else None


_BOOKS: weakref.WeakKeyDictionary[World, DeploymentBook] = weakref.WeakKeyDictionary()


def book_of(world: World) -> DeploymentBook:
    """The world's deployments, kept beside it (``state.World`` stays as it is)."""
    with world.lock:
        book = _BOOKS.get(world)
        if book is None:
            book = _BOOKS[world] = DeploymentBook(world.lock, world.now, world.data_dir)
        return book
