"""`unverified_help_reports`: the calls for help from check-ins that named a registered
traveller and are not yet confirmed, for the case queue; none waits on a code. And the code
that confirms a check-in: its tries are counted in the database, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from emergency.core.models import CheckinReport, SafetyResponse
from emergency.services.checkin_reports import unverified_help_reports
from notify.models import OutboxMessage
from tests.emergency.web.public.test_checkin import ANSWER, add_known, make_incident, rows


@pytest.fixture
def app(backend_app):
    return backend_app


def check_in(client, incident_id, **changes) -> str:
    response = client.post(f"/incidents/{incident_id}/checkin", data={**ANSWER, **changes})
    return re.search(r'action="(/checkin/[^"]+)"', response.get_data(as_text=True)).group(1)


def help_reports(app, incident_id):
    with app.app_context():
        return [(r.traveller_id, r.answer, r.message) for r in unverified_help_reports(incident_id)]


def test_an_unverified_call_for_help_is_listed_at_once_without_waiting_for_its_code(client, app):
    known = add_known(app)
    incident_id = make_incident(app)
    check_in(client, incident_id, email="known@example.org", answer="help", message="Injured")
    assert help_reports(app, incident_id) == [(known, "need_help", "Injured")]


def test_safe_reports_newcomers_other_incidents_and_confirmed_calls_are_not_listed(client, app):
    add_known(app, phone=None)
    add_known(app, email="second@example.org", phone=None)
    incident_id = make_incident(app)
    other_incident = make_incident(app, title="Elsewhere")
    check_in(client, incident_id, email="known@example.org", answer="safe")
    check_in(client, incident_id, email="new@example.org", answer="help")
    check_in(client, other_incident, email="second@example.org", answer="help")
    url = check_in(client, incident_id, email="second@example.org", answer="help")
    message = max(rows(app, OutboxMessage, OutboxMessage.to == "second@example.org"), key=lambda m: m.id)
    client.post(url, data={"code": re.search(r"\b(\d{6})\b", message.body).group(1)})
    assert help_reports(app, incident_id) == []
    assert len(help_reports(app, other_incident)) == 1


def test_the_right_code_records_the_answer_once_and_five_wrong_ones_lock_the_report(client, app):
    add_known(app, phone=None)
    add_known(app, email="second@example.org", phone=None)
    incident_id = make_incident(app)
    first = check_in(client, incident_id, email="known@example.org", answer="help")
    second = check_in(client, incident_id, email="second@example.org", answer="safe")
    codes = {m.to: re.search(r"\b(\d{6})\b", m.body).group(1) for m in rows(app, OutboxMessage)}
    assert client.post(first, data={"code": codes["known@example.org"]}).status_code == 200
    assert client.post(first, data={"code": codes["known@example.org"]}).status_code == 200
    wrong = f"{(int(codes['second@example.org']) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert client.post(second, data={"code": wrong}).status_code == 400
    assert client.post(second, data={"code": codes["second@example.org"]}).status_code == 400
    assert [r.status for r in rows(app, SafetyResponse)] == ["need_help"]
    assert sorted((r.attempts, r.verified_at is not None) for r in rows(app, CheckinReport)) == [(1, True), (5, False)]
