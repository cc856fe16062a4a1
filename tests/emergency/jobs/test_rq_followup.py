"""Follow-up rounds on the real job stack (RQ on Redis, `emergency worker` processes): a
round whose scheduled tick was lost with Redis's data is sent by the sweep, once, however
often the sweep runs."""
from __future__ import annotations

import pytest
from redis import Redis
from sqlalchemy import func, select

from emergency.core.models import Alert
from notify.models import Delivery
from tests.conftest import run_worker
from tests.emergency.followup_helpers import age, person, safety_check

pytestmark = pytest.mark.redis


@pytest.fixture
def app(make_app, database_url, redis_url):
    return make_app(database_url, JOBS_MODE="rq", REDIS_URL=redis_url)


def test_a_round_whose_scheduled_tick_was_lost_goes_out_once_through_the_sweep(client, app, make_incident):
    with app.test_request_context():
        from emergency.core.database import db_session

        for i in range(3):
            person(db_session(), f"P{i}", email=f"p{i}@example.org", phone=f"+35191234560{i}")
    incident = make_incident()
    check = safety_check(client, app, incident)
    run_worker(app, timeout=300)  # the safety check goes out; its follow-up tick waits on RQ's scheduler

    Redis.from_url(app.config["REDIS_URL"]).flushdb()  # Redis restarted empty: the scheduled tick is gone
    with app.test_request_context():
        from emergency.core.database import db_session
        from emergency.jobs.followup import sweep_due

        age(db_session(), 121)
        assert sweep_due() == 1
    run_worker(app, timeout=300)
    with app.test_request_context():
        from emergency.core.database import db_session
        from emergency.jobs.followup import sweep_due

        assert sweep_due() == 0  # the round went out: nothing is due until the next delay
        session = db_session()
        rounds = session.scalars(select(Alert).where(Alert.followup_of == check)).all()
        assert [(a.round, a.status) for a in rounds] == [(1, "sent")]
        sent = session.execute(select(Delivery.recipient_id, func.count()).where(Delivery.campaign_id == rounds[0].id,
                                                                                Delivery.status == "sent")
                               .group_by(Delivery.recipient_id)).all()
        assert len(sent) == 3 and {n for _, n in sent} == {1}  # one message each, on the lead channel
