"""Jobs on RQ (emergency.jobs.runner): each may run for JOB_TIMEOUT seconds, the setting the
delivery claim's staleness is checked against."""
from __future__ import annotations

import pytest
from rq.job import Job

from emergency.jobs.runner import enqueue, enqueue_in

pytestmark = pytest.mark.redis


def noop() -> None:
    """A job for RQ to import; these tests only look at how it was queued."""


@pytest.fixture
def rq_app(make_app, redis_url):
    return make_app(JOBS_MODE="rq", REDIS_URL=redis_url, JOB_TIMEOUT=120, DELIVERY_STALE_SECONDS=300)


def test_a_queued_job_may_run_for_job_timeout_seconds(rq_app):
    with rq_app.app_context():
        assert enqueue(noop, job_id="timeout-now")
        connection = rq_app.extensions["jobs"].redis
        assert Job.fetch("timeout-now", connection=connection).timeout == 120


def test_a_job_scheduled_for_later_may_run_for_job_timeout_seconds(rq_app):
    with rq_app.app_context():
        assert enqueue_in(60, noop, job_id="timeout-later")
        connection = rq_app.extensions["jobs"].redis
        assert Job.fetch("timeout-later", connection=connection).timeout == 120
