"""A check-in that gives a registered traveller's email or phone does not speak for them:
it is kept as an unverified report, and a one-time code goes to the traveller's own contact,
in their language. Only that code, entered on the page the check-in led to, records the
answer as theirs; a wrong, expired or over-tried code records nothing."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from emergency.core.models import AuditEntry, CheckinReport, SafetyResponse
from notify.models import OutboxMessage
from registry.models import Stop, Traveller, Trip
from tests.emergency.web.public.test_checkin import ANSWER, add_known, count, make_incident, rows

KNOWN_PHONE = "+33612345678"


@pytest.fixture
def incident_id(app):
    return make_incident(app)


def forge(client, incident_id, **changes):
    """A check-in by someone who knows the registered person's email, not their code."""
    data = {**ANSWER, "given_name": "Mallory", "family_name": "Forger", "language": "en",
            "email": "known@example.org", **changes}
    response = client.post(f"/incidents/{incident_id}/checkin", data=data)
    assert response.status_code == 200
    return response


def code_url(response) -> str:
    return re.search(r'action="(/checkin/[^"]+)"', response.get_data(as_text=True)).group(1)


def sent_code(app, to: str) -> str:
    (message,) = rows(app, OutboxMessage, OutboxMessage.to == to)
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def enter(client, url, code):
    return client.post(url, data={"code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_forged_check_in_with_someone_elses_email_records_no_answer_and_changes_nothing(client, app, incident_id):
    known = add_known(app)
    before = rows(app, Traveller)[0]
    forge(client, incident_id, answer="safe", phone="+33 7 81 23 45 67")
    assert count(app, SafetyResponse) == 0
    (after,) = rows(app, Traveller)
    assert (after.id, after.given_name, after.family_name, after.email, after.phone, after.updated_at) == (
        known, before.given_name, before.family_name, before.email, before.phone, before.updated_at)
    assert count(app, Trip) == 1 and {s.country for s in rows(app, Stop)} == {"JP"}
    (report,) = rows(app, CheckinReport)
    assert (report.traveller_id, report.answer, report.verified_at) == (known, "safe", None)


def test_the_code_goes_by_email_to_the_registered_address_in_the_travellers_language_first(client, app, incident_id):
    add_known(app, language="fr", phone=None)
    response = forge(client, incident_id, email="KNOWN@example.org", phone="+33 7 81 23 45 67")
    (message,) = rows(app, OutboxMessage)
    assert (message.channel, message.to) == ("email", "known@example.org")
    assert message.subject.index("Votre code") < message.subject.index("Your code")
    assert re.search(r"\b\d{6}\b", message.body)
    page = response.get_data(as_text=True)
    assert re.search(r"\b\d{6}\b", code_url(response)) is None and message.body not in page


def test_the_code_goes_by_sms_to_the_registered_phone_when_the_form_gave_that_phone(client, app, incident_id):
    add_known(app, language="fr")
    forge(client, incident_id, email="", phone="+33 6 12 34 56 78")
    (message,) = rows(app, OutboxMessage)
    assert (message.channel, message.to) == ("sms", KNOWN_PHONE)
    assert message.body.index("Votre code") < message.body.index("Your code")


def test_the_done_page_asks_for_the_code_in_the_language_of_the_person_who_checked_in(client, app, incident_id):
    add_known(app, language="en")
    page = forge(client, incident_id, language="fr").get_data(as_text=True)
    assert 'id="code-form" lang="fr"' in page and "Confirmer ma réponse" in page
    assert page.index("déjà inscrit") < page.index("already registered") and "Saisissez-le sur cette page" in page


def test_the_right_code_records_the_answer_as_the_travellers(client, app, incident_id):
    known = add_known(app)
    url = code_url(forge(client, incident_id, answer="help", message="Trapped on the roof"))
    response = enter(client, url, sent_code(app, "known@example.org"))
    assert response.status_code == 200
    assert "your answer is confirmed and recorded" in response.get_data(as_text=True)
    (answer,) = rows(app, SafetyResponse)
    assert (answer.incident_id, answer.traveller_id, answer.status, answer.channel, answer.message) == (
        incident_id, known, "need_help", "checkin", "Trapped on the roof")
    (report,) = rows(app, CheckinReport)
    assert report.verified_at is not None
    assert count(app, Stop) == 1  # the answer is theirs; their trips are still theirs alone


def test_a_code_typed_with_spaces_is_accepted_and_a_second_post_records_nothing_more(client, app, incident_id):
    add_known(app)
    url = code_url(forge(client, incident_id))
    code = sent_code(app, "known@example.org")
    assert enter(client, url, f" {code[:3]} {code[3:]} ").status_code == 200
    again = enter(client, url, code)
    assert "already confirmed" in again.get_data(as_text=True)
    assert count(app, SafetyResponse) == 1


def test_a_wrong_code_says_so_counts_a_try_and_records_nothing(client, app, incident_id):
    add_known(app)
    url = code_url(forge(client, incident_id))
    response = enter(client, url, wrong(sent_code(app, "known@example.org")))
    assert response.status_code == 400
    assert "This code is not right. You have 4 tries left." in response.get_data(as_text=True)
    assert count(app, SafetyResponse) == 0
    assert rows(app, CheckinReport)[0].attempts == 1


def test_something_that_is_not_a_code_is_refused_without_using_a_try(client, app, incident_id):
    add_known(app)
    url = code_url(forge(client, incident_id))
    for text in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        response = enter(client, url, text)
        assert response.status_code == 400 and "Enter the 6 digits of the code." in response.get_data(as_text=True)
    assert rows(app, CheckinReport)[0].attempts == 0


def test_an_expired_code_says_so_and_records_nothing(client, app, incident_id):
    from emergency.core.database import db_session

    add_known(app)
    url = code_url(forge(client, incident_id))
    with app.app_context():
        db_session().execute(update(CheckinReport).values(
            code_expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db_session().commit()
    response = enter(client, url, sent_code(app, "known@example.org"))
    assert response.status_code == 410 and "This code has expired" in response.get_data(as_text=True)
    assert count(app, SafetyResponse) == 0 and rows(app, CheckinReport)[0].verified_at is None


def test_after_five_wrong_codes_even_the_right_one_is_refused(client, app, incident_id):
    add_known(app)
    url = code_url(forge(client, incident_id))
    code = sent_code(app, "known@example.org")
    for _ in range(4):
        assert enter(client, url, wrong(code)).status_code == 400
    fifth = enter(client, url, wrong(code)).get_data(as_text=True)
    assert "Too many wrong codes" in fifth and 'id="code-form"' not in fifth
    assert "Too many wrong codes" in enter(client, url, code).get_data(as_text=True)
    assert count(app, SafetyResponse) == 0
    assert rows(app, CheckinReport)[0].attempts == 5


def test_the_code_page_names_nobody_and_an_altered_link_finds_nothing(client, app, incident_id):
    add_known(app)
    url = code_url(forge(client, incident_id))
    page = client.get(url).get_data(as_text=True)
    assert "Known" not in page and "known@example.org" not in page
    assert client.get(url[:-2] + "xx").status_code == 404
    assert enter(client, url[:-2] + "xx", sent_code(app, "known@example.org")).status_code == 404
    assert count(app, SafetyResponse) == 0


def test_a_newcomers_code_page_accepts_no_code_and_their_answer_counted_already(client, app, incident_id):
    url = code_url(client.post(f"/incidents/{incident_id}/checkin", data=ANSWER))
    assert count(app, OutboxMessage) == 0  # nobody registered this contact: no code to send
    assert enter(client, url, "123456").status_code == 400
    assert [r.channel for r in rows(app, SafetyResponse)] == ["web"]


def test_the_audit_log_records_the_report_its_failed_tries_and_its_verification_with_ids_only(client, app, incident_id):
    known = add_known(app)
    url = code_url(forge(client, incident_id, message="secret words", phone="+33 6 12 34 56 78"))
    code = sent_code(app, KNOWN_PHONE)
    enter(client, url, wrong(code))
    enter(client, url, code)
    entries = rows(app, AuditEntry, AuditEntry.action.like("checkin.%"))
    assert [e.action for e in entries] == ["checkin.report_created", "checkin.code_failed", "checkin.verified"]
    (report,) = rows(app, CheckinReport)
    assert {e.object_id for e in entries} == {str(report.id)}
    assert entries[-1].details["traveller_id"] == known
    text = " ".join(f"{e.actor} {e.details}" for e in entries).lower()
    for secret in ("mallory", "forger", "known@example.org", "+336", "secret", code):
        assert secret not in text


def test_the_code_page_exists_only_while_the_incident_is_active(client, app, incident_id):
    from tests.emergency.web.public.test_checkin import close

    add_known(app)
    url = code_url(forge(client, incident_id))
    close(app, incident_id)
    assert client.get(url).status_code == 404
    assert enter(client, url, sent_code(app, "known@example.org")).status_code == 404
    assert count(app, SafetyResponse) == 0
