"""The embedded job runners: a failed job is tried again on RQ's schedule without a pool
thread sleeping through the wait (thread mode), or runs once and raises (sync mode)."""
from __future__ import annotations

import threading

import pytest
from flask import Flask, current_app

from emergency.jobs import runner as jobs
from emergency.jobs.runner import RETRY_INTERVALS, SyncRunner, ThreadRunner

# Long enough for another job to run in between attempts, short enough for a fast test.
INTERVALS = (0.3, 0.3)


@pytest.fixture
def flask_app():
    return Flask(__name__)


class Flaky:
    """A job that fails its first `failures` runs, then succeeds; it records each run."""

    def __init__(self, log: list, failures: int):
        self.log = log
        self.failures = failures
        self.runs = 0

    def __call__(self, name: str):
        self.runs += 1
        self.log.append(name)
        if self.runs <= self.failures:
            raise RuntimeError(f"attempt {self.runs} fails")
        return name


def test_a_job_that_fails_twice_runs_three_times_and_frees_its_thread_in_between(flask_app):
    log: list[str] = []
    runner = ThreadRunner(flask_app, workers=1, retry_intervals=INTERVALS)

    assert runner.enqueue(Flaky(log, failures=2), "flaky", job_id="flaky")
    assert runner.enqueue(log.append, "other", job_id="other")
    runner.wait(timeout=10)

    # On a one-thread pool the other job can only run between two attempts if no thread
    # sleeps through the retry interval.
    assert log == ["flaky", "other", "flaky", "flaky"]


def test_wait_returns_only_after_the_scheduled_retries_have_run(flask_app):
    log: list[str] = []
    job = Flaky(log, failures=2)
    runner = ThreadRunner(flask_app, workers=1, retry_intervals=INTERVALS)

    runner.enqueue(job, "flaky", job_id="flaky")
    runner.wait(timeout=10)

    assert job.runs == 3
    assert runner.pending["flaky"].result() == "flaky"


def test_a_job_that_always_fails_is_tried_once_per_interval_more_then_given_up(flask_app, caplog):
    log: list[str] = []
    runner = ThreadRunner(flask_app, workers=1, retry_intervals=(0.01, 0.01, 0.01))

    runner.enqueue(Flaky(log, failures=99), "doomed", job_id="doomed")
    runner.wait(timeout=10)

    assert log == ["doomed"] * 4
    with pytest.raises(RuntimeError, match="attempt 4 fails"):
        runner.pending["doomed"].result()
    assert "job doomed failed for good" in caplog.text


def test_the_same_job_id_is_refused_while_its_retry_is_scheduled(flask_app):
    log: list[str] = []
    runner = ThreadRunner(flask_app, workers=1, retry_intervals=(0.5,))
    job = Flaky(log, failures=1)

    runner.enqueue(job, "flaky", job_id="flaky")
    runner.pending["flaky"].result(timeout=5)  # the first attempt failed; its retry waits

    assert not runner.enqueue(job, "again", job_id="flaky")
    assert not runner.enqueue_in(0, job, "again", job_id="flaky")
    runner.wait(timeout=10)
    assert log == ["flaky", "flaky"]


def test_wait_gives_up_with_timeout_error_when_a_retry_is_still_far_off(flask_app):
    release = threading.Event()
    runner = ThreadRunner(flask_app, workers=1, retry_intervals=(60,))

    def fails_once():
        if not release.is_set():
            release.set()
            raise RuntimeError("first attempt")

    runner.enqueue(fails_once, job_id="slow-retry")
    with pytest.raises(TimeoutError):
        runner.wait(timeout=0.5)
    runner.timers["slow-retry"].cancel()


def test_jobs_run_inside_the_runners_application(flask_app):
    seen = []
    runner = ThreadRunner(flask_app, workers=1, retry_intervals=INTERVALS)

    runner.enqueue(lambda: seen.append(current_app.name), job_id="ctx")
    runner.wait(timeout=10)

    assert seen == [flask_app.name]


def test_a_delayed_job_runs_after_its_delay_and_wait_waits_for_it(flask_app):
    log: list[str] = []
    runner = ThreadRunner(flask_app, workers=1, retry_intervals=INTERVALS)

    assert runner.enqueue_in(0.2, log.append, "later", job_id="later")
    assert log == []
    runner.wait(timeout=10)

    assert log == ["later"]


def test_thread_mode_retries_on_the_same_intervals_as_rq_by_default(flask_app):
    assert ThreadRunner(flask_app).retry_intervals == tuple(RETRY_INTERVALS)


def test_sync_mode_runs_a_failing_job_once_and_raises(flask_app):
    log: list[str] = []
    runner = SyncRunner(flask_app)

    with pytest.raises(RuntimeError, match="attempt 1 fails"):
        runner.enqueue(Flaky(log, failures=1), "flaky", job_id="flaky")

    assert log == ["flaky"]


def test_sync_mode_runs_a_delayed_job_at_once_without_sleeping(flask_app, monkeypatch):
    def no_sleep(seconds):
        raise AssertionError(f"slept {seconds}s")

    monkeypatch.setattr(jobs.time, "sleep", no_sleep)
    log: list[str] = []

    assert SyncRunner(flask_app).enqueue_in(3600, log.append, "now", job_id="later")
    assert log == ["now"]


def test_a_periodic_job_runs_as_ordinary_jobs_until_stopped_and_wait_does_not_wait_for_it(flask_app):
    ran = threading.Event()
    runs: list[int] = []

    def periodic():
        runs.append(1)
        if len(runs) >= 2:
            ran.set()

    runner = ThreadRunner(flask_app, workers=1)
    runner.every(0.05, periodic, "sweep")
    assert ran.wait(timeout=10)
    runner.wait(timeout=10)  # returns: the period between runs is not a scheduled job
    runner.stop()
    assert runner.stopped.is_set() and len(runs) >= 2


def test_a_served_embedded_app_starts_its_cron_on_the_first_request_and_only_once(make_app):
    """The embedded runner's cron runs in a process that serves pages, not in every script or
    CLI command that builds an application."""
    app = make_app(JOBS_MODE="thread", TESTING=False)

    def sweeps():
        return [t for t in threading.enumerate() if t.name in ("every-followup-sweep", "every-feed-poll")
                and t.is_alive()]

    before = len(sweeps())
    try:
        client = app.test_client()
        assert len(sweeps()) == before  # building the application started nothing
        assert client.get("/healthz").status_code == 200
        assert len(sweeps()) == before + 2  # the follow-up sweep and the feed poller
        client.get("/healthz")
        assert len(sweeps()) == before + 2
    finally:
        app.extensions["jobs"].stop()
