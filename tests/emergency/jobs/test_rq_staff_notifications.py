"""On-call messages on the real job stack: the job is queued on Redis once the call for help
is committed, under a deterministic id that refuses a duplicate, and a separate `emergency
worker` process sends each officer's messages once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from emergency.core.models import Case, StaffNotification
from notify.models import OutboxMessage
from tests.conftest import run_worker
from tests.emergency.services.test_staff_notifications import CORA, PHONES, need_help, put_on_call

pytestmark = pytest.mark.redis


@pytest.fixture
def app(make_app, redis_url):
    return make_app(JOBS_MODE="rq", REDIS_URL=redis_url)


def test_a_worker_tells_the_officer_on_call_once(app, make_traveller, make_incident):
    from emergency.core.database import db_session
    from emergency.jobs.staff_notifications import queue_notify

    ann = make_traveller("Ann", email="ann@example.org")
    incident = make_incident("Floods")
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    with app.app_context():
        case = db_session().scalar(select(Case))
        assert db_session().scalar(select(StaffNotification)) is None  # queued, not run
        assert queue_notify("case_opened", case.id, case.events[0].id) is False  # the same job again

    run_worker(app, timeout=300)
    with app.app_context():
        sent = db_session().execute(select(OutboxMessage.channel, OutboxMessage.to)
                                    .where(OutboxMessage.to.in_([CORA, PHONES[CORA]]))).all()
        assert sorted(sent) == [("email", CORA), ("sms", PHONES[CORA])]
        assert {r.status for r in db_session().scalars(select(StaffNotification))} == {"sent"}
