"""The fan-out on the real job stack: RQ on Redis and a separate `emergency worker` process."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from notify.models import Delivery, OutboxMessage
from tests.conftest import api_headers, run_worker, stop

pytestmark = pytest.mark.redis


@pytest.fixture
def app(make_app, database_url, redis_url):
    return make_app(database_url, JOBS_MODE="rq", REDIS_URL=redis_url)


def test_alert_is_delivered_once_by_rq_workers_even_if_queued_twice(client, app, make_traveller, make_incident):
    headers = api_headers(app)
    for i in range(5):
        make_traveller(f"T{i}", email=f"t{i}@example.org", phone=f"+33 6 12 34 56 7{i}",
                       language="fr" if i % 2 else "en", stops=[stop("FR", place="Paris", days_before=0, days_after=2)])
    incident_id = make_incident("Paris", lat=48.85, lon=2.35, radius_km=20)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers, json={}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202

    with app.app_context():
        from emergency.jobs.fanout import prepare_alert
        from emergency.jobs.runner import enqueue

        # A retried request or a second click: the deterministic job id refuses the duplicate.
        assert enqueue(prepare_alert, alert["id"], job_id=f"alert-{alert['id']}-prepare", queue="alerts") is False
    assert client.get(f"/api/v1/alerts/{alert['id']}", headers=headers).get_json()["status"] == "sending"

    run_worker(app, timeout=300)
    with app.app_context():
        from emergency.core.database import db_session
        from emergency.jobs.fanout import deliver_email_batch

        # Running a delivery batch again (a retried job) calls no provider a second time.
        deliver_email_batch(alert["id"], 0)
        session = db_session()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 10
        assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) == 10
    assert client.get(f"/api/v1/alerts/{alert['id']}", headers=headers).get_json()["status"] == "sent"
