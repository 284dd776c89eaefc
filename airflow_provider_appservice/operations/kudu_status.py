"""Deployment tracking decisions without I/O: what a Kudu or ARM status means, whether the
deployment is finished, which request comes next and how long to wait before it.

The worker (sync, ``operations.deploy_tracking``) and the triggerer (async, ``triggers.deployment``)
are thin drivers around :class:`DeploymentTracker`: they send the request it names, feed the
answer back, log the messages it returns and sleep what it says. So both paths decide alike,
and a "5-minute deployment" is proven cheap with an injected clock, not by waiting.

Facts (azure-apis.md §2, §9, §10): Kudu status 0 Pending, 1 Building, 2 Deploying, 3 Failed,
4 Success, 5 Complete; Linux Kudu may jump 0 → 4; ``/api/deployments/latest`` may show a stale
temporary record (``is_temp``) first and forces ``status`` 0 while one runs; ARM's runtime
``deploymentStatus/{id}`` answers 202 while in progress and 200 when done, and a slot's may
stop at ``BuildSuccessful``; it is 404 where the platform does not offer it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_appservice.transport.backoff import PollSchedule

KUDU_STATUSES: dict[int, str] = {0: "Pending", 1: "Building", 2: "Deploying", 3: "Failed", 4: "Success", 5: "Complete"}
KUDU_FAILED = 3
KUDU_SUCCEEDED = frozenset({4, 5})

RUNTIME_SUCCEEDED = frozenset({"RuntimeSuccessful"})
RUNTIME_FAILED = frozenset({"RuntimeFailed", "BuildFailed", "BuildAborted", "TimedOut"})
# A slot's runtime status reportedly ends at BuildSuccessful (azure-apis.md §9).
SLOT_DONE = frozenset({"BuildSuccessful"})

KUDU_NOT_FOUND_LIMIT = 3  # a just-created id may not be visible at once; more 404s mean it is gone
LATEST = "latest"


class Phase(enum.Enum):
    RESOLVE = "resolve"  # find the id on /api/deployments/latest
    KUDU = "kudu"  # GET /api/deployments/{id}
    RUNTIME = "runtime"  # ARM deploymentStatus/{id}
    DONE = "done"


@dataclass(frozen=True)
class KuduRecord:
    """The fields of a Kudu deployment object the provider uses (snake_case, as Kudu sends)."""

    id: str
    status: Any
    status_text: str
    complete: bool
    is_temp: bool
    log_url: str | None
    received_time: str | None
    end_time: str | None

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> KuduRecord:
        return cls(
            id=str(body.get("id") or ""),
            status=body.get("status"),
            status_text=str(body.get("status_text") or ""),
            complete=bool(body.get("complete")),
            is_temp=bool(body.get("is_temp")),
            log_url=body.get("log_url") or None,
            received_time=body.get("received_time") or None,
            end_time=body.get("end_time") or None,
        )


def kudu_status_name(status: Any) -> str:
    """``Building`` for 1, ``unknown status 42`` for anything Kudu does not define."""
    if isinstance(status, int) and not isinstance(status, bool) and status in KUDU_STATUSES:
        return KUDU_STATUSES[status]
    return f"unknown status {status!r}"


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of a Kudu ISO timestamp (``...Z``, 7 fractional digits included); None if unreadable."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # .NET writes 7 fractional digits; Python takes at most 6
        head, _, rest = text.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


@dataclass(frozen=True)
class Outcome:
    """How tracking ended. ``status`` is the last status seen (Kudu name or ARM runtime status)."""

    succeeded: bool
    status: str
    message: str
    timed_out: bool = False
    # Set when the deadline came while every status request since the last real answer had
    # failed (e.g. "HTTP 503"): the wait ended because Azure did not answer, not because the
    # deployment is still running; the task fails with that, not with a bare timeout.
    unanswered: str | None = None


@dataclass(frozen=True)
class Step:
    """The next status request: ``phase`` says which (RESOLVE, KUDU or RUNTIME)."""

    phase: Phase
    deployment_id: str | None


class DeploymentTracker:
    """Follows one deployment from its id (or ``latest``) to success, failure or the deadline.

    Drivers loop: ``wait = next_wait(now)``; stop when None; sleep ``wait``; send ``step()``;
    feed the answer to ``on_latest``/``on_kudu``/``on_runtime``/``on_transient``; log the
    returned messages; fetch the log when ``wants_log`` says so.

    :param deployment_id: the Kudu id, or ``"latest"``/None to resolve it first.
    :param slot: True for a slot (its runtime status may end at ``BuildSuccessful``).
    :param started: the driver clock's time tracking started (deadline = started + timeout).
    :param timeout: seconds to wait in all; never unbounded.
    :param schedule: intervals that grow to a ceiling (PollSchedule), unless ``interval`` fixes one.
    :param runtime: also follow ARM's runtime status where the platform offers it.
    :param not_before: epoch seconds of the upload; a finished ``latest`` record that ended well
        before it is an older deployment, not ours (``skew`` seconds of clock difference allowed).
    """

    def __init__(
        self,
        deployment_id: str | None,
        *,
        slot: bool = False,
        started: float = 0.0,
        timeout: float = 1800.0,
        schedule: PollSchedule | None = None,
        interval: float | None = None,
        runtime: bool = True,
        not_before: float | None = None,
        skew: float = 120.0,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        if interval is not None and interval <= 0:
            raise ValueError("poll interval must be > 0 seconds")
        self.deployment_id = None if deployment_id in (None, "", LATEST) else deployment_id
        self.phase = Phase.KUDU if self.deployment_id else Phase.RESOLVE
        self.slot = slot
        self.started = started
        self.deadline = started + timeout
        self.timeout = timeout
        self.schedule = schedule or PollSchedule()
        self.interval = interval
        self.runtime = runtime
        self.not_before = not_before
        self.skew = skew
        self.requests = 0  # status requests so far (Kudu and ARM together)
        self.failed_in_a_row = 0  # status requests that failed since the last real answer
        self.last_failure: str | None = None
        self.status = "Pending"
        self.kudu_status: Any = None
        self.runtime_status: str | None = None
        self.status_text = ""
        self.log_url: str | None = None
        self.outcome: Outcome | None = None
        self._retry_after: float | None = None
        self._immediate = False
        self._not_found = 0
        self._log_due = False

    # -- what next ---------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def due_now(self) -> bool:
        """The next request should go at once (the phase just changed), not after a wait."""
        return self._immediate and self.outcome is None

    def step(self) -> Step:
        return Step(self.phase, self.deployment_id)

    def expire_by(self, now: float) -> Outcome | None:
        """For a caller that cannot look again before ``now`` (a sensor's next poke): end at the
        deadline now if it will have passed by then, so the outcome says why (a bare sensor
        timeout would not name the last status, or the 503s every request got)."""
        if self.outcome is None and now > self.deadline:
            self._time_out()
        return self.outcome

    def next_wait(self, now: float) -> float | None:
        """Seconds to wait before the next request; None when tracking is over (a timeout
        sets :attr:`outcome`). A Retry-After is a floor: if honouring it would cross the
        deadline, tracking stops instead of polling early."""
        if self.outcome is not None:
            return None
        if self._immediate:
            self._immediate = False
            if now <= self.deadline:
                return 0.0
        remaining = self.deadline - now
        if remaining <= 0:
            self._time_out()
            return None
        retry_after = self._retry_after or 0.0
        if self.interval is not None:
            wait = max(self.interval, retry_after)
        else:
            wait = self.schedule.interval(self.requests, retry_after)
        if wait > remaining:
            if retry_after > remaining:
                self._time_out()
                return None
            wait = remaining  # one last look at the deadline
        return wait

    def _time_out(self) -> None:
        what = f"deployment {self.deployment_id}" if self.deployment_id else "the deployment id on /latest"
        if self.failed_in_a_row:
            self.outcome = Outcome(
                False,
                self.status,
                f"Waited {self.timeout:g}s for {what}; the last {self.failed_in_a_row} status request(s) failed "
                f"({self.last_failure}), so its status is unknown",
                timed_out=True,
                unanswered=self.last_failure,
            )
            return
        self.outcome = Outcome(
            False,
            self.status,
            f"Waited {self.timeout:g}s for {what}; last status: {self.describe()}",
            timed_out=True,
        )

    def describe(self) -> str:
        parts = [self.status]
        if self.kudu_status is not None and self.runtime_status is not None:
            parts = [f"Kudu {kudu_status_name(self.kudu_status)}", f"runtime {self.runtime_status}"]
        if self.status_text:
            parts.append(self.status_text)
        return ", ".join(parts)

    @property
    def wants_log(self) -> bool:
        """Whether the driver should read the deployment log now (on a change and at the end)."""
        due = self._log_due and self.deployment_id is not None
        self._log_due = False
        return due

    # -- answers -----------------------------------------------------------------------------------
    def _counted(self, retry_after: float | None, *, answered: bool = True) -> None:
        self.requests += 1
        self._retry_after = retry_after
        if answered:
            self.failed_in_a_row = 0

    def on_transient(self, reason: str, retry_after: float | None = None) -> list[str]:
        """A status request failed in a way worth retrying (429, 5xx, connection): wait and ask again."""
        self._counted(retry_after, answered=False)
        self.failed_in_a_row += 1
        self.last_failure = reason
        return [f"Status request failed ({reason}); asking again"]

    def on_latest(
        self, http_status: int, body: Mapping[str, Any] | None, retry_after: float | None = None
    ) -> list[str]:
        """An answer of ``GET /api/deployments/latest`` while resolving the id."""
        self._counted(retry_after)
        if http_status == 404 or not body:
            return []  # no deployment recorded yet
        record = KuduRecord.parse(body)
        if record.is_temp or not record.id:
            return [
                f"/api/deployments/latest shows a temporary record ({record.id or 'no id'}); waiting for the real one"
            ]
        if self.not_before is not None and record.complete:
            ended = parse_time(record.end_time) or parse_time(record.received_time)
            if ended is not None and ended < self.not_before - self.skew:
                return [f"/api/deployments/latest still shows the previous deployment {record.id}; waiting"]
        self.deployment_id = record.id
        self.phase = Phase.KUDU
        self._immediate = True  # /latest forces status 0: read the real status by id now
        return [f"Deployment id {record.id} (from /api/deployments/latest)"]

    def on_kudu(self, http_status: int, body: Mapping[str, Any] | None, retry_after: float | None = None) -> list[str]:
        """An answer of ``GET /api/deployments/{id}``."""
        self._counted(retry_after)
        if http_status == 404 or not body:
            self._not_found += 1
            if self._not_found >= KUDU_NOT_FOUND_LIMIT:
                self.outcome = Outcome(False, "NotFound", f"Kudu does not know deployment {self.deployment_id}")
                self._log_due = False
                return []
            return [f"Kudu does not show deployment {self.deployment_id} yet"]
        self._not_found = 0
        record = KuduRecord.parse(body)
        self.log_url = record.log_url or self.log_url
        self.status_text = record.status_text
        changed = record.status != self.kudu_status
        self.kudu_status = record.status
        messages: list[str] = []
        status = record.status
        known = isinstance(status, int) and not isinstance(status, bool) and status in KUDU_STATUSES
        if changed:
            self.status = kudu_status_name(status)
            self._log_due = True
            messages.append(f"Kudu status: {self.status}" + (f" ({record.status_text})" if record.status_text else ""))
        if not known:
            self.outcome = Outcome(
                False,
                self.status,
                f"Kudu reported {kudu_status_name(status)} (raw value {status!r}); treated as failure",
            )
            self._log_due = True
        elif status == KUDU_FAILED:
            self.outcome = Outcome(False, "Failed", record.status_text or "Kudu reported the deployment as failed")
            self._log_due = True
        elif status in KUDU_SUCCEEDED:
            if self.runtime:
                self.phase = Phase.RUNTIME
                self._immediate = True
            else:
                self.outcome = Outcome(True, self.status, "Kudu reported success")
                self.phase = Phase.DONE
        return messages

    def on_runtime(
        self, http_status: int, body: Mapping[str, Any] | None, retry_after: float | None = None
    ) -> list[str]:
        """An answer of ARM ``deploymentStatus/{id}`` (``body`` is its ``properties``, or None on 404)."""
        self._counted(retry_after)
        if http_status == 404 or body is None:
            self.runtime = False
            self.phase = Phase.DONE
            self.outcome = Outcome(True, self.status, "Kudu reported success (no runtime status offered)")
            return ["The platform offers no runtime status for this deployment; Kudu's success is final"]
        status = str(body.get("status") or "")
        messages: list[str] = []
        if status != self.runtime_status:
            self.runtime_status = status
            messages.append(f"Runtime status: {status}" + _instances(body))
        self.status = status or self.status
        if status in RUNTIME_SUCCEEDED or (status in SLOT_DONE and (self.slot or http_status == 200)):
            note = " (slot deployments end at BuildSuccessful)" if status in SLOT_DONE else ""
            self.outcome = Outcome(True, status, f"Runtime status {status}{note}")
            self.phase = Phase.DONE
        elif status in RUNTIME_FAILED:
            self.outcome = Outcome(False, status, _runtime_failure(status, body))
            self.phase = Phase.DONE
            self._log_due = True
        elif http_status == 200 and status and status not in _RUNTIME_PROGRESS:
            # The platform says it is done with a status we do not know: do not call it success.
            self.outcome = Outcome(False, status, f"Runtime status ended at {status!r}; treated as failure")
            self.phase = Phase.DONE
        return messages


_RUNTIME_PROGRESS = frozenset(
    {
        "BuildRequestReceived",
        "BuildPending",
        "BuildInProgress",
        "BuildSuccessful",
        "PostBuildRestartRequired",
        "StartPolling",
        "StartPollingWithRestart",
        "RuntimeStarting",
    }
)


def _instances(body: Mapping[str, Any]) -> str:
    keys = ("numberOfInstancesInProgress", "numberOfInstancesSuccessful", "numberOfInstancesFailed")
    values = [body.get(k) for k in keys]
    if all(v is None for v in values):
        return ""
    return " (instances: {} in progress, {} successful, {} failed)".format(*[v or 0 for v in values])


def _runtime_failure(status: str, body: Mapping[str, Any]) -> str:
    parts = [f"Runtime status {status}{_instances(body)}"]
    for error in body.get("errors") or []:
        if isinstance(error, Mapping):
            parts.append(f"{error.get('code') or error.get('extendedCode') or 'error'}: {error.get('message') or ''}")
    logs = body.get("failedInstancesLogs") or []
    if logs:
        parts.append("instance logs: " + ", ".join(str(u) for u in logs[:3]))
    return "; ".join(parts)
