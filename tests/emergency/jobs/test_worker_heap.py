"""A worker settles its heap before its first job: the job code is imported and the
application's objects are frozen out of the cycle collector, so full collections during an
alert walk only what the jobs made (emergency/worker_heap.py; bench/fanout.py measures it).

Real Redis and a real `emergency worker --burst` process; the job reports what it saw.
"""
from __future__ import annotations

import gc
import os
import sys

import pytest
from redis import Redis

from emergency.jobs.runner import job
from tests.conftest import flushed_redis, run_worker

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("TEST_REDIS_HEAP_URL", "redis://127.0.0.1:6379/12")  # 14, 15: other tests
SEEN_KEY = "test:worker-heap:seen"


@job
def report_heap() -> None:
    """Record, from inside the worker, how many objects were frozen and whether the
    delivery code was already imported."""
    from flask import current_app

    Redis.from_url(current_app.config["REDIS_URL"]).rpush(
        SEEN_KEY, f"{gc.get_freeze_count()} {'notify.providers.twilio_provider' in sys.modules}")


@pytest.fixture
def heap_redis(redis_server):
    yield from flushed_redis(REDIS_URL)


@pytest.fixture
def app(make_app, heap_redis):
    return make_app(JOBS_MODE="rq", REDIS_URL=heap_redis)


@pytest.mark.parametrize("mode", [["--simple"], []], ids=["simple worker", "forking worker"])
def test_a_worker_runs_its_jobs_on_a_frozen_application_heap(app, heap_redis, mode):
    with app.app_context():
        from emergency.jobs.runner import enqueue

        assert enqueue(report_heap, job_id="report-heap", queue="alerts")
    run_worker(app, *mode, timeout=300)

    seen = [entry.decode() for entry in Redis.from_url(heap_redis).lrange(SEEN_KEY, 0, -1)]
    assert len(seen) == 1, seen
    frozen, imported = seen[0].split()
    # Flask, SQLAlchemy, the catalogues and the SDKs: tens of thousands of objects
    assert int(frozen) > 20_000
    assert imported == "True"
