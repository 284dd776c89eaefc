"""The sans-I/O deployment tracker: what statuses mean, when to ask next, what it costs.

A tiny simulated Kudu + ARM answers the tracker's requests on a FakeClock, so a "5-minute
deployment" runs in microseconds and its request count is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from airflow_provider_appservice.operations.kudu_log import LogFollower
from airflow_provider_appservice.operations.kudu_status import (
    DeploymentTracker,
    KuduRecord,
    Phase,
    kudu_status_name,
    parse_time,
)
from airflow_provider_appservice.operations.packages import infer_type, redact_url, sas_secrets
from airflow_provider_appservice.testing.clock import FakeClock
from airflow_provider_appservice.transport.backoff import PollSchedule


@dataclass
class SimulatedDeployment:
    """Kudu (jumping 0 -> 4 like Linux) and ARM runtime status over a fake clock."""

    duration: float
    runtime_after: float = 0.0
    kudu_final: int = 4
    runtime_final: str = "RuntimeSuccessful"
    slot: bool = False
    stale_latest: int = 0
    retry_after: float | None = None
    calls: list[str] = field(default_factory=list)

    def kudu(self, now: float) -> tuple[int, dict]:
        self.calls.append("kudu")
        done = now >= self.duration
        return 200, {
            "id": "dep-1",
            "status": self.kudu_final if done else 0,
            "complete": done,
            "is_temp": False,
            "status_text": "",
            "log_url": "https://app.scm.azurewebsites.net/api/deployments/dep-1/log",
        }

    def latest(self, now: float) -> tuple[int, dict]:
        self.calls.append("latest")
        if self.stale_latest > 0:
            self.stale_latest -= 1
            return 202, {"id": "temp-1234", "status": 0, "is_temp": True, "complete": False}
        return 202, {"id": "dep-1", "status": 0, "is_temp": False, "complete": False}

    def runtime(self, now: float) -> tuple[int, dict]:
        self.calls.append("runtime")
        if now >= self.duration + self.runtime_after:
            return 200, {"status": self.runtime_final, "numberOfInstancesFailed": 0}
        return 202, {"status": "RuntimeStarting"}


def drive(tracker: DeploymentTracker, sim: SimulatedDeployment, clock: FakeClock) -> list[str]:
    messages: list[str] = []
    while (wait := tracker.next_wait(clock.now())) is not None:
        clock.sleep(wait)
        step = tracker.step()
        if step.phase is Phase.RESOLVE:
            messages += tracker.on_latest(*sim.latest(clock.now()), retry_after=sim.retry_after)
        elif step.phase is Phase.KUDU:
            messages += tracker.on_kudu(*sim.kudu(clock.now()), retry_after=sim.retry_after)
        else:
            messages += tracker.on_runtime(*sim.runtime(clock.now()), retry_after=sim.retry_after)
    return messages


def test_a_five_minute_deployment_costs_at_most_20_status_requests():
    clock = FakeClock()
    sim = SimulatedDeployment(duration=240, runtime_after=60)
    tracker = DeploymentTracker("dep-1", started=clock.now(), timeout=1800)
    drive(tracker, sim, clock)
    assert tracker.outcome is not None and tracker.outcome.succeeded
    assert tracker.outcome.status == "RuntimeSuccessful"
    assert clock.now() >= 300
    assert tracker.requests == len(sim.calls) <= 20, sim.calls
    assert clock.now() - 300 <= 30, "finished within one ceiling interval of the deployment's end"


def test_even_resolving_latest_through_stale_records_stays_within_budget():
    clock = FakeClock()
    sim = SimulatedDeployment(duration=300, stale_latest=2)
    tracker = DeploymentTracker("latest", started=clock.now(), timeout=1800)
    messages = drive(tracker, sim, clock)
    assert tracker.deployment_id == "dep-1" and tracker.outcome and tracker.outcome.succeeded
    assert sim.calls[:3] == ["latest", "latest", "latest"] and sim.calls[3] == "kudu"
    assert sum("temporary record" in m for m in messages) == 2
    assert tracker.requests <= 20


def test_retry_after_is_a_floor_never_a_reason_to_poll_faster():
    clock = FakeClock()
    sim = SimulatedDeployment(duration=300, retry_after=45)
    tracker = DeploymentTracker("dep-1", started=clock.now(), timeout=1800)
    drive(tracker, sim, clock)
    assert all(wait >= 45 for wait in clock.sleeps[1:] if wait), clock.sleeps
    # With a Retry-After shorter than the schedule, the schedule wins.
    clock2 = FakeClock()
    tracker2 = DeploymentTracker("dep-1", started=0, timeout=1800)
    drive(tracker2, SimulatedDeployment(duration=300, retry_after=0.5), clock2)
    assert clock2.sleeps[:4] == [2.0, 4.0, 8.0, 16.0]


def test_retry_after_beyond_the_deadline_stops_instead_of_polling_early():
    tracker = DeploymentTracker("dep-1", started=0, timeout=60)
    tracker.on_kudu(200, {"id": "dep-1", "status": 1}, retry_after=120)
    assert tracker.next_wait(10) is None
    assert tracker.outcome is not None and tracker.outcome.timed_out


def test_timeout_ends_tracking_with_a_last_look_at_the_deadline():
    clock = FakeClock()
    sim = SimulatedDeployment(duration=10_000)
    tracker = DeploymentTracker("dep-1", started=0, timeout=300)
    drive(tracker, sim, clock)
    assert tracker.outcome is not None and tracker.outcome.timed_out and not tracker.outcome.succeeded
    assert clock.now() == pytest.approx(300)
    assert "Waited 300s" in tracker.outcome.message and "Pending" in tracker.outcome.message
    assert tracker.requests <= 14


def test_status_can_jump_from_pending_to_success():
    tracker = DeploymentTracker("dep-1", started=0, timeout=600, runtime=False)
    assert tracker.on_kudu(200, {"id": "dep-1", "status": 0}) == ["Kudu status: Pending"]
    assert tracker.on_kudu(200, {"id": "dep-1", "status": 0}) == []  # no news, no line
    assert tracker.on_kudu(200, {"id": "dep-1", "status": 4, "complete": True}) == ["Kudu status: Success"]
    assert tracker.outcome is not None and tracker.outcome.succeeded


def test_complete_status_5_is_success_and_failed_3_carries_the_status_text():
    ok = DeploymentTracker("d", runtime=False)
    ok.on_kudu(200, {"id": "d", "status": 5})
    assert ok.outcome is not None and ok.outcome.succeeded
    bad = DeploymentTracker("d")
    bad.on_kudu(200, {"id": "d", "status": 3, "status_text": "npm ERR! missing script: build"})
    assert bad.outcome is not None and not bad.outcome.succeeded
    assert "npm ERR!" in bad.outcome.message and bad.wants_log


@pytest.mark.parametrize("raw", [-1, 6, 42, "4", None, True])
def test_unknown_status_is_a_failure_that_shows_the_raw_value(raw):
    tracker = DeploymentTracker("d")
    tracker.on_kudu(200, {"id": "d", "status": raw})
    assert tracker.outcome is not None and not tracker.outcome.succeeded
    assert repr(raw) in tracker.outcome.message


def test_stale_finished_record_on_latest_is_not_taken_for_ours():
    tracker = DeploymentTracker(None, not_before=parse_time("2026-01-01T12:00:00Z"), started=0)
    old = {"id": "old", "status": 4, "complete": True, "end_time": "2026-01-01T11:00:00.1234567Z"}
    assert "previous deployment" in tracker.on_latest(200, old)[0]
    assert tracker.deployment_id is None
    temp = {"id": "temp-9", "status": 0, "is_temp": True}
    assert "temporary record" in tracker.on_latest(202, temp)[0]
    new = {"id": "new", "status": 0, "complete": False, "is_temp": False}
    tracker.on_latest(202, new)
    assert tracker.deployment_id == "new" and tracker.phase is Phase.KUDU
    assert tracker.due_now, "/latest forces status 0: read the real status by id at once"


def test_runtime_status_ends_it_and_404_means_not_offered():
    t = DeploymentTracker("d", started=0)
    t.on_kudu(200, {"id": "d", "status": 4})
    assert t.phase is Phase.RUNTIME and t.next_wait(0) == 0.0
    t.on_runtime(202, {"status": "RuntimeStarting"})
    assert t.outcome is None
    t.on_runtime(200, {"status": "RuntimeSuccessful"})
    assert t.outcome is not None and t.outcome.succeeded
    n = DeploymentTracker("d")
    n.on_kudu(200, {"id": "d", "status": 4})
    n.on_runtime(404, None)
    assert n.outcome is not None and n.outcome.succeeded and "no runtime status" in n.outcome.message


def test_a_slot_is_done_at_build_successful_production_only_when_final():
    slot = DeploymentTracker("d", slot=True)
    slot.on_kudu(200, {"id": "d", "status": 4})
    slot.on_runtime(202, {"status": "BuildSuccessful"})
    assert slot.outcome is not None and slot.outcome.succeeded
    prod = DeploymentTracker("d")
    prod.on_kudu(200, {"id": "d", "status": 4})
    prod.on_runtime(202, {"status": "BuildSuccessful"})
    assert prod.outcome is None


@pytest.mark.parametrize("status", ["RuntimeFailed", "BuildFailed", "BuildAborted", "TimedOut"])
def test_runtime_failures_fail_with_instances_and_errors(status):
    t = DeploymentTracker("d")
    t.on_kudu(200, {"id": "d", "status": 4})
    t.on_runtime(
        200,
        {
            "status": status,
            "numberOfInstancesFailed": 1,
            "errors": [{"code": status, "message": "container exited"}],
            "failedInstancesLogs": ["https://x/log"],
        },
    )
    assert t.outcome is not None and not t.outcome.succeeded
    assert "container exited" in t.outcome.message and "1 failed" in t.outcome.message


def test_kudu_not_knowing_the_id_fails_after_a_few_answers():
    t = DeploymentTracker("gone")
    t.on_kudu(404, None)
    t.on_kudu(404, None)
    assert t.outcome is None
    t.on_kudu(404, None)
    assert t.outcome is not None and "does not know" in t.outcome.message


def test_transient_errors_count_and_honour_retry_after():
    t = DeploymentTracker("d", started=0, timeout=600)
    t.on_transient("HTTP 503", retry_after=40)
    assert t.next_wait(0) == 40
    assert t.requests == 1


def test_fixed_poll_interval():
    t = DeploymentTracker("d", started=0, timeout=600, interval=0.5)
    assert t.next_wait(0) == 0.5
    t.on_kudu(200, {"id": "d", "status": 1}, retry_after=3)
    assert t.next_wait(0.5) == 3


def test_schedule_is_the_default():
    t = DeploymentTracker("d", started=0, schedule=PollSchedule(first=1, factor=3, ceiling=5))
    assert t.next_wait(0) == 1


def test_log_follower_prints_each_line_once_and_rereads_the_growing_entry():
    f = LogFollower(tail=3)
    entries = [
        {"id": "1", "message": "Fetching changes."},
        {"id": "2", "message": "Running deployment command...", "details_url": "https://s/log/2"},
    ]
    lines, urls = f.on_entries(entries)
    assert lines == ["Fetching changes.", "Running deployment command..."] and urls == ["https://s/log/2"]
    assert f.on_details([{"id": "a", "message": "npm install"}]) == ["  npm install"]
    lines, urls = f.on_entries([*entries, {"id": "3", "message": "Deployment Failed.", "type": 2}])
    assert lines == ["ERROR Deployment Failed."] and urls == ["https://s/log/2"]
    assert f.last_lines() == ["Running deployment command...", "npm install", "ERROR Deployment Failed."]


def test_kudu_names_times_and_records():
    assert kudu_status_name(2) == "Deploying" and kudu_status_name(9) == "unknown status 9"
    assert parse_time("2026-01-01T00:00:00.1234567Z") == pytest.approx(parse_time("2026-01-01T00:00:00Z") + 0.123456)
    assert parse_time("nonsense") is None
    assert KuduRecord.parse({"id": "x", "is_temp": True}).is_temp


def test_type_inference_and_sas_redaction():
    assert (
        infer_type("app.war") == "war" and infer_type("x/site.ZIP") == "zip" and infer_type("startup.sh") == "startup"
    )
    assert infer_type("index.html") == "static" and infer_type("", is_folder=True) == "zip"
    assert infer_type("https://a.blob.core.windows.net/c/app.jar?sv=1&sig=abc") == "jar"
    url = "https://a.blob.core.windows.net/c/app.zip?sv=2024&sig=ab%2Bcd%3D&se=2026"
    assert redact_url(url) == "https://a.blob.core.windows.net/c/app.zip?sv=2024&sig=***&se=2026"
    secrets = sas_secrets(url)
    assert {"ab%2Bcd%3D", "ab+cd=", "ab%2Bcd%3D".lower()} & secrets >= {"ab%2Bcd%3D", "ab+cd="}


def _poll_failing(tracker: DeploymentTracker, clock: FakeClock, answers: list[str]) -> None:
    """Every status request fails with the next reason ("ok" = a real Pending answer)."""
    for reason in answers:
        wait = tracker.next_wait(clock.now())
        if wait is None:
            return
        clock.sleep(wait)
        tracker.step()
        if reason == "ok":
            tracker.on_kudu(202, {"id": "dep-1", "status": 0, "complete": False})
        else:
            tracker.on_transient(reason)
    while (wait := tracker.next_wait(clock.now())) is not None:
        clock.sleep(wait)
        tracker.step()
        tracker.on_transient(answers[-1])


def test_a_deadline_reached_while_every_status_request_fails_says_so():
    """Kudu answering 503 to every poll is not "still Pending": the outcome names the 503."""
    clock = FakeClock()
    tracker = DeploymentTracker("dep-1", started=clock.now(), timeout=120)
    _poll_failing(tracker, clock, ["HTTP 503"])
    outcome = tracker.outcome
    assert outcome is not None and outcome.timed_out and outcome.unanswered == "HTTP 503"
    assert "status request(s) failed (HTTP 503)" in outcome.message


def test_a_real_answer_after_failures_makes_it_a_plain_timeout():
    clock = FakeClock()
    tracker = DeploymentTracker("dep-1", started=clock.now(), timeout=120)
    for _ in range(200):
        wait = tracker.next_wait(clock.now())
        if wait is None:
            break
        clock.sleep(wait)
        tracker.step()
        tracker.on_kudu(202, {"id": "dep-1", "status": 1, "complete": False})
    outcome = tracker.outcome
    assert outcome is not None and outcome.timed_out and outcome.unanswered is None
    assert "last status" in outcome.message
