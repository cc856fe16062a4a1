"""Emergency alerts go before routine mail: a routine backlog never delays an alert.

Real Redis and a real `emergency worker --burst` process. Routine jobs (registration
confirmations, sign-in links) wait on the "default" queue; alerts go on "alerts", which
every worker empties first. Each routine job records, as it starts, where the alert stood,
in a Redis list, so the order is read from what happened, not from timings.
"""
from __future__ import annotations

import os

import pytest
from redis import Redis

from emergency.jobs.runner import job
from tests.conftest import api_headers, flushed_redis, run_worker, stop

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("TEST_REDIS_PRIORITY_URL", "redis://127.0.0.1:6379/14")  # not conftest's db 15
ORDER_KEY = "test:priorities:order"
BACKLOG = 200
ALERT_SENT_BY = 10  # the routine job during which the coordinator presses "send"


# --- jobs the worker runs (imported by RQ from this module) -------------------------------------

def _alert_status(alert_id: int) -> str:
    from emergency.core.database import db_session
    from emergency.core.models import Alert

    session = db_session()
    session.expire_all()
    return session.get(Alert, alert_id).status


def _record(entry: str) -> None:
    from flask import current_app

    Redis.from_url(current_app.config["REDIS_URL"]).rpush(ORDER_KEY, entry)


@job
def routine_mail(number: int, alert_id: int) -> None:
    """A stand-in for a registration confirmation; job ALERT_SENT_BY also sends the alert."""
    _record(f"routine-{number}:{_alert_status(alert_id)}")
    if number == ALERT_SENT_BY:
        from flask import current_app

        from emergency.services import alerts

        with current_app.test_request_context():
            alerts.send_alert(alerts.get_alert(alert_id))


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def priority_redis(redis_server):
    yield from flushed_redis(REDIS_URL)


@pytest.fixture
def app(make_app, priority_redis):
    return make_app(JOBS_MODE="rq", REDIS_URL=priority_redis, SMS_BATCH_SIZE=1, EMAIL_BATCH_SIZE=1)


@pytest.fixture
def drafted_alert(client, app, make_traveller, make_incident):
    """Four travellers in Paris and a draft alert to them by email and SMS (8 one-message batches)."""
    headers = api_headers(app)
    for i in range(4):
        make_traveller(f"T{i}", email=f"t{i}@example.org", phone=f"+33 6 12 34 56 7{i}",
                       language="fr" if i % 2 else "en", stops=[stop("FR", place="Paris", days_before=0, days_after=2)])
    incident_id = make_incident("Paris", lat=48.85, lon=2.35, radius_km=20)
    return client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers, json={}).get_json()["id"]


def queue_backlog(app, alert_id: int) -> None:
    with app.app_context():
        from emergency.jobs.runner import enqueue

        for number in range(1, BACKLOG + 1):
            assert enqueue(routine_mail, number, alert_id, job_id=f"routine-{number}", queue="default")


def run_alert_worker(app, *args: str):
    """A simple burst worker, one recipient per delivery batch."""
    return run_worker(app, "--simple", *args, SMS_BATCH_SIZE="1", EMAIL_BATCH_SIZE="1")


def recorded(redis_url: str) -> list[str]:
    return [e.decode() for e in Redis.from_url(redis_url).lrange(ORDER_KEY, 0, -1)]


# --- tests -------------------------------------------------------------------------------------

def test_an_alert_sent_behind_200_routine_mails_is_delivered_before_the_rest_of_the_backlog(
        client, app, drafted_alert, priority_redis):
    queue_backlog(app, drafted_alert)
    run_alert_worker(app)

    order = recorded(priority_redis)
    assert len(order) == BACKLOG  # every routine mail still went out
    before = [e for e in order if int(e.split("-")[1].split(":")[0]) <= ALERT_SENT_BY]
    after = order[len(before):]
    assert all(e.endswith(":draft") for e in before)
    # The alert was sent during routine job 10; by the time job 11 started, the alert's
    # preparation and all 8 of its delivery jobs had run (the alert is "sent").
    assert after and all(e.endswith(":sent") for e in after), after[:3]
    headers = api_headers(app)
    status = client.get(f"/api/v1/alerts/{drafted_alert}", headers=headers).get_json()
    assert status["deliveries"]["email"]["sent"] == 4 and status["deliveries"]["sms"]["sent"] == 4


def test_a_worker_reserved_for_alerts_leaves_routine_mail_alone(client, app, drafted_alert, priority_redis):
    queue_backlog(app, drafted_alert)
    headers = api_headers(app)
    assert client.post(f"/api/v1/alerts/{drafted_alert}/send", headers=headers).status_code == 202

    run_alert_worker(app, "--queues", "alerts")

    assert recorded(priority_redis) == []  # no routine job ran
    assert client.get(f"/api/v1/alerts/{drafted_alert}", headers=headers).get_json()["status"] == "sent"
    from rq import Queue

    assert Queue("default", connection=Redis.from_url(priority_redis)).count == BACKLOG


@pytest.mark.parametrize("names", ["urgent", "alerts,bulk", ",", ""])
def test_worker_refuses_unknown_queue_names(app, names):
    result = app.test_cli_runner().invoke(args=["worker", "--burst", "--queues", names])
    assert result.exit_code != 0
    assert "--queues" in result.output
