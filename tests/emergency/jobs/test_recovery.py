"""A dead worker is noticed from its missed heartbeats: its job goes back to RQ's Retry, a
scheduler lock it held is freed; a live one is left alone. On Redis, with RQ's own records
(executions, the started registry, the scheduler's hash and lock) made as a worker makes them."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from redis import Redis
from rq import Queue, Retry
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler

from emergency.jobs.recovery import DEAD_AFTER, batch_of, live_batches, recover, waiting_batches

pytestmark = pytest.mark.redis


def noop() -> None:
    """A job for RQ to import."""


@pytest.fixture
def connection(redis_url):
    return Redis.from_url(redis_url)


def started(connection, job_id: str, beat_ago: float) -> Job:
    """`job_id` started by a worker whose last heartbeat was `beat_ago` seconds ago."""
    queue = Queue("alerts", connection=connection)
    job = queue.enqueue(noop, job_id=job_id, retry=Retry(max=3, interval=[5]))
    with connection.pipeline() as pipeline:
        job.set_status(JobStatus.STARTED, pipeline=pipeline)
        execution = Execution.create(job, ttl=90, pipeline=pipeline, worker_name="w1")
        pipeline.execute()
    queue.remove(job.id)
    connection.hset(execution.key, "last_heartbeat", (datetime.now(timezone.utc) - timedelta(seconds=beat_ago)).timestamp())
    return job


def test_delivery_job_ids_name_their_batch():
    assert batch_of("alert-7-sms-3") == (7, "sms", 3)
    assert batch_of("alert-7-email-0-a2") == (7, "email", 0)
    assert batch_of("alert-12-sms-4-sweep29000000") == (12, "sms", 4)
    assert batch_of("checkin-code-5") is None


def test_a_job_whose_heartbeats_stopped_goes_back_to_its_retry(connection):
    started(connection, "alert-1-sms-0", beat_ago=DEAD_AFTER + 5)
    queue = Queue("alerts", connection=connection)
    assert queue.started_job_registry.get_job_ids(cleanup=False) == ["alert-1-sms-0"]
    assert recover(connection)["reaped"] == ["alert-1-sms-0"]
    assert queue.started_job_registry.get_job_ids(cleanup=False) == []
    job = Job.fetch("alert-1-sms-0", connection=connection)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 2
    assert "alert-1-sms-0" in queue.scheduled_job_registry.get_job_ids()


def test_a_job_beating_is_left_alone(connection):
    started(connection, "alert-1-sms-0", beat_ago=1)
    assert recover(connection)["reaped"] == []
    assert Job.fetch("alert-1-sms-0", connection=connection).get_status() == JobStatus.STARTED
    assert live_batches(connection) == {(1, "sms", 0)}


def test_a_dead_execution_is_not_live_but_is_still_held(connection):
    started(connection, "alert-1-sms-0", beat_ago=DEAD_AFTER + 5)
    Queue("alerts", connection=connection).enqueue(noop, job_id="alert-1-sms-1")
    assert live_batches(connection) == set()
    assert waiting_batches(connection) == {(1, "sms", 0), (1, "sms", 1)}


def test_one_reaper_per_round(connection):
    started(connection, "alert-1-sms-0", beat_ago=DEAD_AFTER + 5)
    assert recover(connection)["reaped"] == ["alert-1-sms-0"]
    started(connection, "alert-1-sms-1", beat_ago=DEAD_AFTER + 5)
    assert recover(connection) == {"reaped": [], "freed": []}  # another process has this round


def scheduler_holding(connection, beat_ago: float) -> RQScheduler:
    scheduler = RQScheduler(["alerts"], connection=connection)
    assert scheduler.acquire_locks() == {"alerts"}
    scheduler.register_birth()
    connection.hset(scheduler.key, "last_heartbeat",
                    (datetime.now(timezone.utc) - timedelta(seconds=beat_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return scheduler


def test_a_scheduler_lock_whose_holder_stopped_beating_is_freed(connection):
    dead = scheduler_holding(connection, beat_ago=20)
    assert recover(connection)["freed"] == ["alerts"]
    assert connection.get(RQScheduler.get_locking_key("alerts")) is None
    live = RQScheduler(["alerts"], connection=connection)
    assert live.acquire_locks() == {"alerts"} and live.name != dead.name


def test_the_lock_of_a_beating_scheduler_stays(connection):
    scheduler = scheduler_holding(connection, beat_ago=1)
    assert recover(connection)["freed"] == []
    assert connection.get(RQScheduler.get_locking_key("alerts")).decode() == scheduler.name


def test_a_scheduler_lock_with_no_scheduler_left_is_freed(connection):
    scheduler = scheduler_holding(connection, beat_ago=1)
    scheduler.register_death()
    assert recover(connection)["freed"] == ["alerts"]


def test_a_worker_takes_the_free_scheduler_lock_at_its_next_watch(connection, caplog):
    from emergency.jobs.worker import EmergencyWorker

    scheduler_holding(connection, beat_ago=20)
    worker = EmergencyWorker([Queue("alerts", connection=connection)], connection=connection)
    assert worker.job_monitoring_interval == 10
    worker.scheduler = RQScheduler(worker.queues, connection=connection)
    worker.scheduler.start = lambda: None  # the process itself is RQ's; here only the lock matters
    with caplog.at_level(logging.WARNING):
        worker.watch_once()
    assert connection.get(RQScheduler.get_locking_key("alerts")).decode() == worker.scheduler.name
