"""Whichever way a traveller says "I need help" (the email's answer page, an SMS reply, the
crisis check-in form), one case opens for them in that incident; saying it again by another
way adds to the same case."""
from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from emergency.core.models import AuditEntry, Case, SafetyResponse
from notify.models import OutboxMessage
from tests.conftest import PASSWORD, api_headers, post_incident, post_traveller

TOKEN = "twilio-test-auth-token"
ANN = "+351912345678"
_sids = itertools.count(1)


@pytest.fixture
def app_overrides():
    return {"TWILIO_AUTH_TOKEN": TOKEN}


@pytest.fixture
def alerted(app, client):
    """Ann in Lisbon, an incident there and its safety check sent by SMS: (incident, Ann)."""
    ann = post_traveller(client, app, "Ann", email="ann@example.org", phone=ANN)
    incident = post_incident(client, app, "Floods")
    headers = api_headers(app)
    alert = client.post(f"/api/v1/incidents/{incident}/alerts", headers=headers, json={"channels": ["sms"]})
    assert client.post(f"/api/v1/alerts/{alert.get_json()['id']}/send", headers=headers).status_code == 202
    return incident, ann


def cases_of(app) -> list[tuple[int, int, str, list[tuple[str, str]]]]:
    """(incident, traveller, source, [(event kind, event source)...]) of every case."""
    from emergency.core.database import db_session

    with app.app_context():
        return [(c.incident_id, c.traveller_id, c.source, [(e.kind, e.source) for e in c.events])
                for c in db_session().scalars(select(Case).order_by(Case.id))]


def sms_reply(client, body: str, sender: str = ANN) -> None:
    params = {"MessageSid": f"SM{next(_sids):06d}", "From": sender, "To": "+15005550006", "Body": body,
              "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature("https://consular.test/webhooks/twilio/sms", params)
    assert client.post("/webhooks/twilio/sms", data=params,
                       headers={"X-Twilio-Signature": signature}).status_code == 200


def answer_page_post(app, client, incident: int, traveller: int, via_link: bool = True) -> None:
    from emergency.services.safety_links import response_urls

    with app.app_context():
        page = response_urls(incident, traveller)["page_url"].removeprefix(app.config["PUBLIC_BASE_URL"])
    data = {"answer": "help", **({"via": "link"} if via_link else {}), "message": "Roof leaking"}
    assert client.post(page, data=data).status_code == 200


def test_need_help_through_the_email_link_opens_one_case(app, client, alerted):
    incident, ann = alerted
    answer_page_post(app, client, incident, ann)
    assert cases_of(app) == [(incident, ann, "link", [("opened", "link")])]


def test_need_help_by_sms_reply_opens_one_case(app, client, alerted):
    incident, ann = alerted
    sms_reply(client, "AIDE")
    assert cases_of(app) == [(incident, ann, "sms", [("opened", "sms")])]


def test_a_redelivered_sms_adds_nothing_to_the_case(app, client, alerted):
    params = {"MessageSid": "SMrepeat", "From": ANN, "To": "+15005550006", "Body": "2", "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature("https://consular.test/webhooks/twilio/sms", params)
    for _ in range(2):
        client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert [events for *_rest, events in cases_of(app)] == [[("opened", "sms")]]


def test_need_help_by_check_in_opens_one_case(app, client, make_incident):
    incident = make_incident("Floods")
    response = client.post(f"/incidents/{incident}/checkin", data={
        "given_name": "Léo", "family_name": "Martin", "email": "leo@example.org", "phone": "",
        "language": "fr", "answer": "help", "message": "Stuck at the station", "consent": "1"})
    assert response.status_code == 200
    [(case_incident, _traveller, source, events)] = cases_of(app)
    assert case_incident == incident and events == [("opened", source)]


def test_a_second_call_by_another_channel_adds_to_the_same_case(app, client, alerted):
    incident, ann = alerted
    sms_reply(client, "SOS")
    answer_page_post(app, client, incident, ann)
    assert cases_of(app) == [(incident, ann, "sms", [("opened", "sms"), ("need_help", "link")])]


def test_a_safe_answer_by_any_channel_opens_no_case(app, client, alerted):
    sms_reply(client, "OUI")
    assert cases_of(app) == []


def test_an_unverified_check_in_naming_a_registered_traveller_opens_their_case_flagged(app, client, alerted):
    from emergency.core.database import db_session

    incident, ann = alerted
    response = client.post(f"/incidents/{incident}/checkin", data={
        "given_name": "Ann", "family_name": "Roy", "email": "ann@example.org", "phone": "", "language": "en",
        "answer": "help", "message": "Trapped on the 3rd floor", "consent": "1"})
    assert response.status_code == 200
    assert cases_of(app) == [(incident, ann, "checkin", [("opened", "checkin")])]
    with app.app_context():
        case = db_session().scalar(select(Case))
        assert case.unverified and case.events[0].checkin_report.message == "Trapped on the 3rd floor"
        assert db_session().scalar(select(SafetyResponse)) is None  # still not her answer
        opened = db_session().scalar(select(AuditEntry).where(AuditEntry.action == "case.opened"))
        assert opened.actor == "public"
    client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD})
    assert "Unverified" in client.get("/cases").get_data(as_text=True)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="case-unverified"' in page and "Trapped on the 3rd floor" in page


def test_entering_the_check_in_code_adds_a_verified_call_to_the_case(app, client, alerted):
    from emergency.core.database import db_session

    incident, ann = alerted
    response = client.post(f"/incidents/{incident}/checkin", data={
        "given_name": "Ann", "family_name": "Roy", "email": "ann@example.org", "phone": "", "language": "en",
        "answer": "help", "message": "", "consent": "1"})
    code_page = re.search(r'action="(/checkin/[^"]+)"', response.get_data(as_text=True)).group(1)
    with app.app_context():
        (mail,) = db_session().scalars(select(OutboxMessage).where(OutboxMessage.to == "ann@example.org"))
        code = re.search(r"\b(\d{6})\b", mail.body).group(1)
    assert client.post(code_page, data={"code": code}).status_code == 200
    assert cases_of(app) == [(incident, ann, "checkin", [("opened", "checkin"), ("need_help", "checkin")])]
    with app.app_context():
        assert not db_session().scalar(select(Case)).unverified


def test_a_safe_unverified_check_in_opens_no_case(app, client, alerted):
    incident, _ann = alerted
    client.post(f"/incidents/{incident}/checkin", data={
        "given_name": "Ann", "family_name": "Roy", "email": "ann@example.org", "phone": "", "language": "en",
        "answer": "safe", "message": "", "consent": "1"})
    assert cases_of(app) == []
