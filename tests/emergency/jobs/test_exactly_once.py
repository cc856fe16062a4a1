"""Nothing lost, nothing twice, on the real stack: `emergency worker` processes on Redis,
PostgreSQL, and the real SDKs against the fake Twilio and SendGrid, while things go wrong —
a worker SIGKILLed in the middle of an alert, Redis restarted with its queues lost, and
providers failing 30% of calls. Each (alert, traveller, channel) must reach the provider
exactly once: the fakes record the delivery id every message carries. The status callbacks
never reach the app here (no one delivers them): the provider's own records are the only
truth about the calls a dead worker made.

A kill kills the worker's whole process tree (RQ 3.0's work horse is in a process group of
its own, and the worker's scheduler is a child too), and the test checks that it happened —
every process gone, the job still started in RQ's registry — before it looks at recovery."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, func, select

from emergency.jobs.recovery import DEAD_AFTER
from notify.models import Delivery
from tests.conftest import _reset_postgres
from tests.emergency.provider_helpers import provider_config, send_alert, start_fakes

pytestmark = [pytest.mark.redis, pytest.mark.postgis]

RECIPIENTS = 60
DEADLINE = 120  # seconds any one scenario may take before it is a failure


@pytest.fixture
def pg_url(postgis_migrated):
    _reset_postgres(postgis_migrated)
    return postgis_migrated


@pytest.fixture
def fakes():
    sendgrid, twilio = start_fakes(latency=0.01)
    yield sendgrid, twilio
    sendgrid.release(accept=False)
    twilio.release(accept=False)
    sendgrid.stop()
    twilio.stop()


class Workers:
    """`emergency worker` processes this test started, each in its own process group."""

    def __init__(self, app, log_dir, *extra: str):
        self.app = app
        self.extra = extra
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        config = app.config
        keys = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL", "SENDGRID_API_KEY",
                "SENDGRID_API_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL",
                "TWILIO_FROM", "TWILIO_VALIDITY_PERIOD", "PROVIDER_TIMEOUT", "SMS_BATCH_SIZE", "EMAIL_BATCH_SIZE",
                "DELIVERY_RETRY_BASE", "DELIVERY_RETRY_CAP", "DELIVERY_MAX_ATTEMPTS", "DELIVERY_STALE_SECONDS",
                "JOB_TIMEOUT")
        self.env = {**os.environ, "EMERGENCY_ENV": "production",
                    **{k: str(config[k]) for k in keys if config.get(k) is not None}}

    def start(self) -> subprocess.Popen:
        log = open(self.log_dir / f"worker{len(self.procs)}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "emergency.cli", "worker", *self.extra], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    @staticmethod
    def tree(pid: int) -> list[int]:
        """`pid` and all its descendants, read from /proc (children of every thread)."""
        found, todo = [], [pid]
        while todo:
            current = todo.pop()
            found.append(current)
            for children in glob.glob(f"/proc/{current}/task/*/children"):
                try:
                    todo.extend(int(c) for c in open(children).read().split())
                except OSError:  # the process ended meanwhile
                    pass
        return found

    @staticmethod
    def kill(proc: subprocess.Popen, sig=signal.SIGKILL) -> list[int]:
        """Signal the worker and every process under it (work horse, scheduler): frozen first
        with SIGSTOP, so none goes on working while the others die. The pids signalled."""
        pids = Workers.tree(proc.pid) if proc.poll() is None else []
        if sig == signal.SIGKILL:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for pid in Workers.tree(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=10)
        return pids

    def stop_all(self) -> None:
        for proc in self.procs:
            self.kill(proc, signal.SIGTERM)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.glob("worker*.log")))


def gone(pid: int) -> bool:
    """The process has ended (no such pid, or a zombie waiting for its new parent)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def started_jobs(url: str) -> list[str]:
    from redis import Redis
    from rq import Queue

    return Queue("alerts", connection=Redis.from_url(url)).started_job_registry.get_job_ids(cleanup=False)


def scheduler_holder(url: str) -> str | None:
    from redis import Redis
    from rq.scheduler import RQScheduler

    holder = Redis.from_url(url).get(RQScheduler.get_locking_key("alerts"))
    return holder.decode() if holder else None


def counts(app, alert_id) -> Counter:
    engine = create_engine(app.config["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(select(Delivery.status, func.count()).where(Delivery.campaign_id == alert_id)
                            .group_by(Delivery.status)).all()
    engine.dispose()
    return Counter(dict(rows))


def wait_until(predicate, what: str, workers: Workers, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{workers.logs()}")


def wait_all_sent(app, alert_id, expected: int, workers: Workers) -> None:
    wait_until(lambda: counts(app, alert_id)["sent"] == expected, "every delivery to be sent", workers)


def run_sweep(app) -> int:
    with app.app_context():
        from emergency.jobs.fanout import sweep_deliveries

        return sweep_deliveries()


def assert_exactly_once(app, alert_id, fake, channel: str) -> None:
    engine = create_engine(app.config["DATABASE_URL"])
    with engine.connect() as conn:
        ids = {str(i) for i in conn.execute(select(Delivery.id).where(
            Delivery.campaign_id == alert_id, Delivery.channel == channel)).scalars()}
    engine.dispose()
    received = Counter(fake.delivery_ids())
    assert set(received) == ids, "lost or unknown deliveries"
    assert [d for d, n in received.items() if n > 1] == [], "sent twice"


def people(client, app, n=RECIPIENTS):
    """`n` travellers in Lisbon (through the registry service: the API is tested elsewhere)."""
    from datetime import date, timedelta

    from emergency.core.database import db_session
    from registry.service import CleanStop, CleanTraveller, register_traveller

    today = date.today()
    with app.app_context():
        session = db_session()
        for i in range(n):
            register_traveller(session, CleanTraveller(
                given_name=f"P{i}", family_name="Roy", email=f"p{i}@example.org", phone=f"+3361234{i:04d}",
                language="fr" if i % 2 else "en",
                stops=(CleanStop("PT", "Lisbon", 38.72, -9.14, "point", today - timedelta(days=1),
                                 today + timedelta(days=3)),)))
        session.commit()


@pytest.fixture
def workers(tmp_path):
    holder = {}
    yield holder
    if "workers" in holder:
        holder["workers"].stop_all()


def kill_when_held(twilio, pool, proc, url: str) -> str | None:
    """Kill `proc`'s whole tree once the provider parks calls (`hold_after`), with the calls
    then in flight parked; prove the kill: every process gone, the job it was running still
    started in RQ's registry. The parked calls are then accepted: the provider has them, and
    no one told the app. Returns who held the scheduler lock at the kill."""
    assert twilio.held.wait(DEADLINE), pool.logs()
    holder = scheduler_holder(url)
    pids = pool.kill(proc)
    assert len(pids) >= 3, "worker, work horse and scheduler"  # the tree, as RQ 3.0 builds it
    end = time.monotonic() + 10
    while time.monotonic() < end and not all(gone(pid) for pid in pids):
        time.sleep(0.05)
    assert all(gone(pid) for pid in pids), "a process of the killed worker is still running"
    assert started_jobs(url), "the killed job should still be started in RQ's registry"
    twilio.release(accept=True)
    return holder


def test_a_worker_killed_mid_batch_is_replaced_within_a_minute_and_sends_nothing_twice(
        pg_url, redis_url, fakes, workers, tmp_path, make_app):
    """Default settings: no staleness lowered. The killed worker held RQ's scheduler lock, so
    its job's retry also needs the scheduler taken over."""
    sendgrid, twilio = fakes
    app = make_app(pg_url, JOBS_MODE="rq", REDIS_URL=redis_url, APPROVAL_THRESHOLD=1000,
                   **provider_config(sendgrid, twilio, SMS_BATCH_SIZE=10))
    assert (app.config["DELIVERY_STALE_SECONDS"], app.config["JOB_TIMEOUT"]) == (900, 600)
    client = app.test_client()
    people(client, app)
    pool = workers["workers"] = Workers(app, tmp_path)

    twilio.hold_after(RECIPIENTS // 5)  # the kill comes when the provider has 20% of the SMS
    alert_id = send_alert(client, app, channels=["sms"])
    first = pool.start()
    holder = kill_when_held(twilio, pool, first, redis_url)
    killed_at = time.monotonic()
    assert holder is not None and scheduler_holder(redis_url) == holder  # the dead still hold the lock
    in_flight = len(twilio.messages) - RECIPIENTS // 5
    assert in_flight >= 1  # the provider took calls the dead worker never recorded

    pool.start()
    wait_until(lambda: counts(app, alert_id)["sent"] == RECIPIENTS, "every delivery to be sent", pool, timeout=60)
    assert time.monotonic() - killed_at < 60
    assert "stopped beating; handed to RQ for a retry" in pool.logs()  # the watchdog, not a timeout
    assert scheduler_holder(redis_url) not in (None, holder)  # a live worker's scheduler took over
    assert_exactly_once(app, alert_id, twilio, "sms")


@pytest.fixture
def throwaway_redis(tmp_path):
    """A Redis of our own on port 6390 with no persistence, so restarting it loses every queue."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = 6390
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            pytest.skip(f"port {port} is busy")

    def start():
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", str(tmp_path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis

        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                Redis(port=port).ping()
                return proc
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        proc.kill()
        pytest.fail("the throw-away redis-server did not start")

    state = {"proc": start()}

    def restart():
        state["proc"].kill()
        state["proc"].wait(timeout=10)
        state["proc"] = start()

    yield f"redis://127.0.0.1:{port}/0", restart
    state["proc"].kill()
    state["proc"].wait(timeout=10)


def test_redis_restarting_mid_alert_loses_and_repeats_nothing(pg_url, fakes, workers, throwaway_redis, tmp_path, make_app):
    sendgrid, twilio = fakes
    url, restart_redis = throwaway_redis
    app = make_app(pg_url, JOBS_MODE="rq", REDIS_URL=url, APPROVAL_THRESHOLD=1000,
                   **provider_config(sendgrid, twilio, SMS_BATCH_SIZE=10))
    client = app.test_client()
    people(client, app)
    pool = workers["workers"] = Workers(app, tmp_path)

    twilio.hold_after(20)
    alert_id = send_alert(client, app, channels=["sms"])
    first = pool.start()
    assert twilio.held.wait(DEADLINE), pool.logs()
    restart_redis()  # every queued batch is gone with it
    twilio.release(accept=True)  # the worker carries on with the batch it holds

    def batch_settled():
        return counts(app, alert_id)["sent"] >= 30 or first.poll() is not None

    end = time.monotonic() + 30
    while time.monotonic() < end and not batch_settled():
        time.sleep(0.2)
    if not batch_settled():
        pool.kill(first)  # stuck on the lost Redis: treat it as dead
    pool.start()
    # the lost batches come back from our rows, not from Redis, once they have waited longer
    # than a dead worker's heartbeats take to stop (DEAD_AFTER)
    wait_until(lambda: run_sweep(app) >= 1, "the sweep to find the lost batches", pool, timeout=DEAD_AFTER + 30)
    wait_all_sent(app, alert_id, RECIPIENTS, pool)
    assert_exactly_once(app, alert_id, twilio, "sms")


def test_providers_failing_30_percent_of_calls_still_deliver_everything_once(pg_url, redis_url, workers, tmp_path, make_app):
    options = dict(failure_rate=0.3, seed=5, retry_after="1", timeout_seconds=1.5)
    sendgrid, twilio = start_fakes(**options)
    try:
        app = make_app(pg_url, JOBS_MODE="rq", REDIS_URL=redis_url, APPROVAL_THRESHOLD=1000, **provider_config(
            sendgrid, twilio, SMS_BATCH_SIZE=10, EMAIL_BATCH_SIZE=20, PROVIDER_TIMEOUT=0.5,
            DELIVERY_RETRY_BASE=0.2, DELIVERY_RETRY_CAP=2))  # DELIVERY_MAX_ATTEMPTS: the default
        client = app.test_client()
        people(client, app)
        pool = workers["workers"] = Workers(app, tmp_path)
        alert_id = send_alert(client, app, channels=["email", "sms"])
        pool.start()
        pool.start()
        wait_all_sent(app, alert_id, 2 * RECIPIENTS, pool)
        assert {429, 500, "timeout"} <= set(twilio.injected) | set(sendgrid.injected)
        assert_exactly_once(app, alert_id, twilio, "sms")
        assert_exactly_once(app, alert_id, sendgrid, "email")
    finally:
        sendgrid.stop()
        twilio.stop()
