"""On-call officers are told, by email and SMS in their own language, when a case opens or
reopens and when an alert needs approval: each once per event and channel, however often the
job runs; nobody off the list hears anything; a provider failure is kept on the row."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from emergency.core.models import AuditEntry, Case, StaffNotification, User
from notify.models import OutboxMessage
from notify.providers.base import SendResult
from tests.conftest import api_headers, post_incident, post_traveller

CORA, COLIN, ADA = "coordinator@example.org", "coordinator2@example.org", "approver@example.org"
PHONES = {CORA: "+16135550101", COLIN: "+16135550102", ADA: "+33612345678"}


def put_on_call(app, *emails, phone=True):
    from emergency.core.database import db_session
    from emergency.services.staff_notifications import update_member

    with app.test_request_context():
        for email in emails:
            user = db_session().scalar(select(User).where(User.email == email))
            update_member(user, on_call=True, phone=PHONES[email] if phone else None)


def set_language(app, email, language):
    from emergency.core.database import db_session

    with app.app_context():
        db_session().scalar(select(User).where(User.email == email)).language = language
        db_session().commit()


def outbox(app) -> list[tuple[str, str, str]]:
    """(channel, to, subject or SMS body) of every message the outbox holds, in order."""
    from emergency.core.database import db_session

    with app.app_context():
        return [(m.channel, m.to, m.subject if m.channel == "email" else m.body)
                for m in db_session().scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def rows(app) -> list[StaffNotification]:
    from emergency.core.database import db_session

    with app.app_context():
        return list(db_session().scalars(select(StaffNotification).order_by(StaffNotification.id)))


def need_help(app, incident, traveller, channel="link"):
    from emergency.services.responses import record_response

    with app.test_request_context():
        record_response(incident, traveller, "need_help", channel)


def resolve(app, incident, traveller):
    from emergency.core.database import db_session
    from emergency.services import cases

    with app.test_request_context():
        case = cases.case_for(incident, traveller)
        cases.set_status(case, "resolved", db_session().scalar(select(User).where(User.email == CORA)))


@pytest.fixture
def lisbon(app, client):
    """An incident in Lisbon and Ann Lee there: (incident id, Ann's id)."""
    ann = post_traveller(client, app, "Ann", family_name="Lee", email="ann@example.org", phone="+351912345678")
    return post_incident(client, app, "Floods"), ann


def test_a_case_opening_tells_each_officer_on_call_once_per_channel_in_their_language(app, lisbon):
    incident, ann = lisbon
    put_on_call(app, CORA, ADA)
    set_language(app, ADA, "fr")
    need_help(app, incident, ann)
    sent = outbox(app)
    assert sorted((channel, to) for channel, to, _text in sent) == sorted(
        [("email", CORA), ("sms", PHONES[CORA]), ("email", ADA), ("sms", PHONES[ADA])])
    by_address = {to: text for _channel, to, text in sent}
    assert by_address[CORA] == "Case opened: Ann Lee needs help — Floods"
    assert by_address[PHONES[CORA]].startswith("Case opened: Ann Lee needs help - Floods https://consular.test/cases/")
    assert by_address[ADA] == "Dossier ouvert\u00a0: Ann Lee a besoin d'aide — Floods"
    assert by_address[PHONES[ADA]].startswith("Dossier ouvert : Ann Lee a besoin d'aide - Floods https://")
    assert all(r.status == "sent" and r.attempts == 1 for r in rows(app))


def test_the_sms_names_the_traveller_but_gives_none_of_their_contacts(app, lisbon):
    incident, ann = lisbon
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    sms = [text for channel, _to, text in outbox(app) if channel == "sms"]
    assert len(sms) == 1
    assert "Ann Lee" in sms[0] and "+351912345678" not in sms[0] and "ann@example.org" not in sms[0]


def test_the_email_links_to_the_case_page(app, lisbon):
    from emergency.core.database import db_session

    incident, ann = lisbon
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    with app.app_context():
        case = db_session().scalar(select(Case))
        body = db_session().scalar(select(OutboxMessage.body).where(OutboxMessage.channel == "email"))
    assert f"https://consular.test/cases/{case.id}" in body
    assert "https://consular.test/on-call" in body


def test_officers_not_on_call_and_viewers_get_nothing(app, lisbon):
    incident, ann = lisbon
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    addresses = {to for _channel, to, _text in outbox(app)}
    assert addresses == {CORA, PHONES[CORA]}


def test_an_officer_without_a_phone_gets_the_email_only(app, lisbon):
    incident, ann = lisbon
    put_on_call(app, CORA, phone=False)
    need_help(app, incident, ann)
    assert [(channel, to) for channel, to, _text in outbox(app)] == [("email", CORA)]


def test_asking_again_while_the_case_is_open_tells_nobody_again(app, lisbon):
    incident, ann = lisbon
    put_on_call(app, CORA)
    need_help(app, incident, ann, "link")
    need_help(app, incident, ann, "sms")
    assert len(outbox(app)) == 2
    assert len(rows(app)) == 2


def test_a_reopening_tells_them_again(app, lisbon):
    incident, ann = lisbon
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    resolve(app, incident, ann)
    assert len(outbox(app)) == 2  # resolving tells nobody
    need_help(app, incident, ann, "sms")
    sent = outbox(app)
    assert len(sent) == 4
    assert sent[2:] == [("email", CORA, "Case reopened: Ann Lee needs help again — Floods"), sent[3]]
    assert sent[3][2].startswith("Case reopened: Ann Lee needs help again - Floods https://")
    assert [r.kind for r in rows(app)] == ["case_opened"] * 2 + ["case_reopened"] * 2


def test_an_officer_reopening_a_case_tells_nobody(app, lisbon):
    from emergency.core.database import db_session
    from emergency.services import cases

    incident, ann = lisbon
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    resolve(app, incident, ann)
    with app.test_request_context():
        case = cases.case_for(incident, ann)
        cases.set_status(case, "in_progress", db_session().scalar(select(User).where(User.email == CORA)))
    assert len(outbox(app)) == 2


def test_the_job_run_twice_sends_once(app, lisbon):
    from emergency.core.database import db_session
    from emergency.jobs.staff_notifications import notify

    incident, ann = lisbon
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    first = rows(app)
    with app.app_context():
        case = db_session().scalar(select(Case))
        assert notify("case_opened", case.id, case.events[0].id) == 0
    assert len(outbox(app)) == 2
    assert [(r.id, r.status, r.attempts) for r in rows(app)] == [(r.id, "sent", 1) for r in first]


def test_a_rolled_back_call_for_help_tells_nobody(app, lisbon):
    from emergency.core.database import db_session
    from emergency.services.responses import record_response

    incident, ann = lisbon
    put_on_call(app, CORA)
    with app.test_request_context():
        record_response(incident, ann, "need_help", "link", commit=False)
        db_session().rollback()
        db_session().commit()
    assert outbox(app) == [] and rows(app) == []


def test_an_unverified_check_in_says_so(app, client, lisbon):
    incident, ann = lisbon
    put_on_call(app, CORA)
    response = client.post(f"/incidents/{incident}/checkin", data={
        "given_name": "Ann", "family_name": "Lee", "email": "ann@example.org", "phone": "", "language": "en",
        "answer": "help", "message": "", "consent": "1"})
    assert response.status_code == 200
    email = [text for channel, to, text in outbox(app) if to == CORA]
    assert email == ["Case opened: Ann Lee needs help — Floods"]
    from emergency.core.database import db_session

    with app.app_context():
        body = db_session().scalar(select(OutboxMessage.body).where(OutboxMessage.to == CORA))
        sms = db_session().scalar(select(OutboxMessage.body).where(OutboxMessage.to == PHONES[CORA]))
    assert "Unverified check-in: confirm who it is before acting on their record." in body
    assert "Unverified check-in" in sms


# --- approvals -----------------------------------------------------------------------------

@pytest.fixture
def app_overrides():
    return {"APPROVAL_THRESHOLD": 0}


def compose(app, client, incident, author=CORA) -> int:
    response = client.post(f"/api/v1/incidents/{incident}/alerts", headers=api_headers(app, author),
                           json={"channels": ["email"]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_an_alert_needing_approval_tells_the_on_call_approvers_but_not_its_author(app, client, lisbon):
    incident, _ann = lisbon
    put_on_call(app, CORA, COLIN, ADA)
    set_language(app, ADA, "fr")
    alert = compose(app, client, incident, author=CORA)
    sent = outbox(app)
    assert sorted(to for _channel, to, _text in sent) == sorted([ADA, PHONES[ADA]])
    email = [text for channel, _to, text in sent if channel == "email"][0]
    assert email == "Approbation requise\u00a0: alerte à 1 personne pour Floods"
    sms = [text for channel, _to, text in sent if channel == "sms"][0]
    assert f"https://consular.test/incidents/{incident}#alert-{alert}" in sms
    assert "Cora Coordinator" in sms


def test_the_author_is_not_told_even_when_an_approver(app, client, lisbon):
    incident, _ann = lisbon
    put_on_call(app, ADA, CORA)
    compose(app, client, incident, author=ADA)
    # No other approver on call: the on-call coordinators are told instead, and told why.
    sent = outbox(app)
    assert sorted(to for _channel, to, _text in sent) == sorted([CORA, PHONES[CORA]])
    sms = [text for channel, _to, text in sent if channel == "sms"][0]
    assert "No approver is on call: find one to approve it." in sms


def test_each_approval_request_is_told_once(app, client, lisbon):
    from emergency.core.database import db_session
    from emergency.jobs.staff_notifications import notify

    incident, _ann = lisbon
    put_on_call(app, ADA)
    alert = compose(app, client, incident)
    with app.app_context():
        entry = db_session().scalar(select(AuditEntry).where(AuditEntry.action == "alert.approval_requested"))
        assert entry.details == {"incident_id": incident, "recipients": 1}
        notify("approval_requested", alert, entry.id)
    assert len(outbox(app)) == 2


def test_an_alert_within_the_threshold_asks_nobody(make_app):
    app = make_app(APPROVAL_THRESHOLD=25)
    client = app.test_client()
    post_traveller(client, app, "Ann", email="ann@example.org")
    incident = post_incident(client, app, "Floods")
    put_on_call(app, ADA)
    compose(app, client, incident)
    assert outbox(app) == []


# --- failures ------------------------------------------------------------------------------

class FailingSms:
    name = "failing"

    def __init__(self, retryable: bool):
        self.retryable = retryable
        self.calls = 0

    def send(self, message):
        self.calls += 1
        return SendResult(message.delivery_id, False, None, "Twilio 500 unavailable", self.retryable)


def test_a_temporary_failure_is_tried_again_then_left_failed_with_the_error(app, lisbon):
    from emergency.core.database import db_session
    from emergency.jobs.providers import providers
    from emergency.jobs.staff_notifications import NotificationsPending, max_attempts, notify

    incident, ann = lisbon
    put_on_call(app, CORA)
    with app.app_context():
        email, _sms = providers()
        failing = FailingSms(retryable=True)
        app.extensions["providers"] = (email, failing)
    need_help(app, incident, ann)  # the first attempt; sync mode runs no retry
    sms_row = [r for r in rows(app) if r.channel == "sms"][0]
    assert (sms_row.status, sms_row.attempts, sms_row.error) == ("pending", 1, "Twilio 500 unavailable")
    with app.app_context():
        case = db_session().scalar(select(Case))
        attempts = max_attempts()
        for _ in range(attempts - 2):
            with pytest.raises(NotificationsPending):
                notify("case_opened", case.id, case.events[0].id)
        notify("case_opened", case.id, case.events[0].id)  # the last attempt gives up: nothing to retry
    sms_row = [r for r in rows(app) if r.channel == "sms"][0]
    assert (sms_row.status, sms_row.attempts, sms_row.error) == ("failed", attempts, "Twilio 500 unavailable")
    assert failing.calls == attempts
    assert [r.status for r in rows(app) if r.channel == "email"] == ["sent"]


def test_a_permanent_failure_is_not_tried_again(app, lisbon):
    from emergency.core.database import db_session
    from emergency.jobs.providers import providers
    from emergency.jobs.staff_notifications import notify

    incident, ann = lisbon
    put_on_call(app, CORA)
    with app.app_context():
        email, _sms = providers()
        failing = FailingSms(retryable=False)
        app.extensions["providers"] = (email, failing)
    need_help(app, incident, ann)
    with app.app_context():
        case = db_session().scalar(select(Case))
        notify("case_opened", case.id, case.events[0].id)
    assert failing.calls == 1
    assert [(r.status, r.error) for r in rows(app) if r.channel == "sms"] == [("failed", "Twilio 500 unavailable")]


def test_nothing_is_written_for_an_event_that_does_not_exist(app):
    from emergency.core.database import db_session
    from emergency.jobs.staff_notifications import notify

    put_on_call(app, CORA)
    with app.app_context():
        assert notify("case_opened", 999, 999) == 0
        assert notify("approval_requested", 999, 999) == 0
        assert db_session().scalar(select(func.count()).select_from(StaffNotification)) == 0


# --- both databases, and the providers' real SDKs -----------------------------------------

def test_on_both_databases_each_officer_is_told_once_however_often_the_job_runs(backend_app):
    from emergency.core.database import db_session
    from emergency.jobs.staff_notifications import notify

    app = backend_app
    client = app.test_client()
    ann = post_traveller(client, app, "Ann", family_name="Lee", email="ann@example.org")
    incident = post_incident(client, app, "Floods")
    put_on_call(app, CORA, ADA)
    need_help(app, incident, ann)
    with app.app_context():
        case = db_session().scalar(select(Case))
        assert notify("case_opened", case.id, case.events[0].id) == 0
    assert sorted((r.channel, r.address, r.status) for r in rows(app)) == sorted(
        [("email", CORA, "sent"), ("sms", PHONES[CORA], "sent"), ("email", ADA, "sent"), ("sms", PHONES[ADA], "sent")])
    assert len(outbox(app)) == 4


def test_through_sendgrid_and_twilio_each_officer_gets_one_email_and_one_sms(make_app):
    from tests.emergency.provider_helpers import provider_config, start_fakes

    sendgrid, twilio = start_fakes()
    try:
        app = make_app(**provider_config(sendgrid, twilio))
        client = app.test_client()
        ann = post_traveller(client, app, "Ann", family_name="Lee", email="ann@example.org")
        incident = post_incident(client, app, "Floods")
        put_on_call(app, CORA)
        need_help(app, incident, ann)
        assert [p["to"][0]["email"] for mail in sendgrid.mails for p in mail["personalizations"]] == [CORA]
        assert sendgrid.mails[0]["subject"] == "Case opened: Ann Lee needs help — Floods"
        assert [(m["to"], m["_status_callback"]) for m in twilio.messages] == [(PHONES[CORA], None)]
        assert twilio.messages[0]["body"].startswith("Case opened: Ann Lee needs help - Floods https://consular.test/")
        assert {(r.channel, r.status) for r in rows(app)} == {("email", "sent"), ("sms", "sent")}
        assert all(r.provider_message_id for r in rows(app))
    finally:
        sendgrid.stop()
        twilio.stop()


def test_in_the_embedded_thread_mode_the_job_runs_after_the_commit(make_app):
    from emergency.jobs.runner import wait_for_jobs

    app = make_app(JOBS_MODE="thread")
    client = app.test_client()
    ann = post_traveller(client, app, "Ann", family_name="Lee", email="ann@example.org")
    incident = post_incident(client, app, "Floods")
    put_on_call(app, CORA)
    need_help(app, incident, ann)
    wait_for_jobs(app)
    assert sorted(to for channel, to, _text in outbox(app) if to != "ann@example.org") == sorted([CORA, PHONES[CORA]])
