"""Twilio inbound SMS and status callbacks: signed, stored before acknowledged, idempotent."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from emergency.core.models import SafetyResponse
from notify.models import Delivery, InboundMessage
from tests.conftest import api_headers

TOKEN = "twilio-test-auth-token"
BASE = "https://consular.test"


@pytest.fixture
def app_overrides():
    return {"TWILIO_AUTH_TOKEN": TOKEN}


@pytest.fixture
def alerted(client, app, make_traveller, make_incident):
    """An incident in Lisbon whose alert went to Zoé (French) and Ann (English) by SMS."""
    headers = api_headers(app)
    people = {}
    for name, phone, lang in (("Zoé", "+33 6 12 34 56 78", "fr"), ("Ann", "+351 912 345 678", "en")):
        people[name] = make_traveller(name, phone=phone, language=lang)
    incident_id = make_incident("Floods")
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                        json={"channels": ["sms"]}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return incident_id, people


def signed_post(client, path, params, token=TOKEN):
    signature = RequestValidator(token).compute_signature(BASE + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def inbound(body, sid="SM0001", sender="+33612345678"):
    return {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body, "NumMedia": "0"}


def responses(app):
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().execute(select(SafetyResponse.traveller_id, SafetyResponse.status,
                                           SafetyResponse.channel)).all()


def test_sms_reply_oui_records_safe_and_answers_in_french_first(client, app, alerted):
    _incident, people = alerted
    response = signed_post(client, "/webhooks/twilio/sms", inbound("oui"))
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    text = response.get_data(as_text=True)
    assert text.index("en sécurité") < text.index("you are safe")
    assert responses(app) == [(people["Zoé"], "safe", "sms")]


def test_sms_reply_2_records_need_help(client, app, alerted):
    _incident, people = alerted
    assert signed_post(client, "/webhooks/twilio/sms", inbound("2", sender="+351912345678")).status_code == 200
    assert responses(app) == [(people["Ann"], "need_help", "sms")]


def test_the_same_message_delivered_twice_is_recorded_once(client, app, alerted):
    signed_post(client, "/webhooks/twilio/sms", inbound("SAFE", sid="SMdup"))
    second = signed_post(client, "/webhooks/twilio/sms", inbound("SAFE", sid="SMdup"))
    assert second.status_code == 200
    assert len(responses(app)) == 1
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_free_text_is_kept_for_a_human_and_records_no_answer(client, app, alerted):
    response = signed_post(client, "/webhooks/twilio/sms", inbound("we are at the airport, is it open?"))
    assert response.status_code == 200
    assert responses(app) == []
    with app.app_context():
        from emergency.core.database import db_session

        kept = db_session().scalar(select(InboundMessage))
        assert kept.body == "we are at the airport, is it open?" and kept.intent is None


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "bm90LXNpZ25lZA=="}])
def test_unsigned_or_badly_signed_sms_is_rejected_and_changes_nothing(client, app, alerted, headers):
    response = client.post("/webhooks/twilio/sms", data=inbound("1"), headers=headers)
    assert response.status_code == 403
    assert "not signed" in response.get_json()["message"]
    assert responses(app) == []


def test_sms_signed_with_another_token_is_rejected(client, app, alerted):
    assert signed_post(client, "/webhooks/twilio/sms", inbound("1"), token="wrong-token").status_code == 403
    assert responses(app) == []


def test_malformed_inbound_sms_is_a_clear_400(client, app, alerted):
    response = signed_post(client, "/webhooks/twilio/sms", {"From": "+33612345678"})
    assert response.status_code == 400
    assert "MessageSid" in response.get_json()["message"]


def test_reply_from_an_unknown_number_is_stored_and_answered(client, app, alerted):
    response = signed_post(client, "/webhooks/twilio/sms", inbound("1", sender="+14165550100"))
    assert response.status_code == 200
    assert "could not match" in response.get_data(as_text=True)
    assert responses(app) == []


def test_status_callback_marks_the_sms_delivered_once(client, app, alerted):
    with app.app_context():
        from emergency.core.database import db_session

        delivery = db_session().scalars(select(Delivery).where(Delivery.channel == "sms")).first()
        sid = delivery.provider_message_id
    params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert signed_post(client, "/webhooks/twilio/status", params).status_code == 204
    assert signed_post(client, "/webhooks/twilio/status", params).status_code == 204
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().scalar(select(Delivery.status).where(Delivery.provider_message_id == sid)) == "delivered"
    unsigned = client.post("/webhooks/twilio/status", data={**params, "MessageStatus": "failed"})
    assert unsigned.status_code == 403
