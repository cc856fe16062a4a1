"""STOP, ARRET, ARRÊT, UNSUBSCRIBE turn a traveller's SMS off (recorded), START turns them back on,
and an opted-out traveller is sent email instead of SMS on the next alert."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from notify.models import Delivery, SmsOptOut
from notify.optout import is_opted_out, opted_out_among, record_keyword
from tests.conftest import api_headers

TOKEN = "twilio-test-auth-token"
BASE = "https://consular.test"
ZOE, ANN = "+33612345678", "+351912345678"


@pytest.fixture
def app_overrides():
    return {"TWILIO_AUTH_TOKEN": TOKEN}


@pytest.fixture
def incident(client, app, make_traveller, make_incident):
    """Zoé (French, phone and email) and Ann (English, phone only) in Lisbon, alerted once by SMS."""
    people = {"zoe": make_traveller("Zoé", phone=ZOE, language="fr", email="zoe@example.org"),
              "ann": make_traveller("Ann", phone=ANN, language="en")}
    incident_id = make_incident("Floods")
    send(client, app, incident_id, ["sms"])
    return incident_id, people


def send(client, app, incident_id, channels):
    headers = api_headers(app)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                        json={"channels": channels}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return alert["id"]


def reply(client, body, sender=ZOE, sid=None):
    params = {"MessageSid": sid or f"SM{abs(hash((body, sender, sid)))}", "From": sender,
              "To": "+15005550006", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/webhooks/twilio/sms", params)
    response = client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def optout_row(app, phone):
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().scalar(select(SmsOptOut).where(SmsOptOut.phone == phone))


def deliveries(app, alert_id):
    with app.app_context():
        from emergency.core.database import db_session

        return sorted((d.recipient_id, d.channel) for d in
                      db_session().scalars(select(Delivery).where(Delivery.campaign_id == alert_id)))


@pytest.mark.parametrize("keyword, recorded", [
    ("STOP", "STOP"), ("stop", "STOP"), ("Stop.", "STOP"), ("UNSUBSCRIBE", "UNSUBSCRIBE"),
    ("ARRET", "ARRET"), ("arret", "ARRET"), ("ARRÊT", "ARRÊT"), ("Arrêt !", "ARRÊT"),
])
def test_each_opt_out_keyword_in_english_and_french_is_recorded(client, app, incident, keyword, recorded):
    reply(client, keyword)
    row = optout_row(app, ZOE)
    assert row is not None and row.opted_out is True
    assert row.keyword == recorded
    assert row.changed_at is not None


def test_opt_out_is_confirmed_in_the_travellers_language_first(client, app, incident):
    french = reply(client, "ARRET")
    assert french.index("ne recevrez plus") < french.index("no longer receive")
    english = reply(client, "STOP", sender=ANN)
    assert english.index("no longer receive") < english.index("ne recevrez plus")


def test_start_turns_text_messages_back_on(client, app, incident):
    reply(client, "ARRÊT", sid="SM1")
    answer = reply(client, "START", sid="SM2")
    row = optout_row(app, ZOE)
    assert row.opted_out is False and row.keyword == "START"
    assert answer.index("de nouveau") < answer.index("on again")


def test_a_retried_stop_does_not_undo_a_later_start(client, app, incident):
    reply(client, "STOP", sid="SMstop")
    reply(client, "START", sid="SMstart")
    reply(client, "STOP", sid="SMstop")  # Twilio re-delivering the first message
    assert optout_row(app, ZOE).opted_out is False


def test_stop_inside_a_sentence_is_not_an_opt_out(client, app, incident):
    reply(client, "please stop the flooding")
    assert optout_row(app, ZOE) is None


def test_an_unknown_number_can_opt_out_and_gets_french_first_for_arret(client, app, incident):
    answer = reply(client, "ARRET", sender="+14165550100")
    assert optout_row(app, "+14165550100").opted_out is True
    assert answer.index("ne recevrez plus") < answer.index("no longer receive")


def test_opted_out_traveller_gets_email_not_sms_on_the_next_alert(client, app, incident):
    incident_id, people = incident
    reply(client, "ARRET")
    alert_id = send(client, app, incident_id, ["sms"])
    assert deliveries(app, alert_id) == sorted([(people["zoe"], "email"), (people["ann"], "sms")])


def test_opted_out_traveller_gets_a_single_email_when_the_alert_has_both_channels(client, app, incident):
    incident_id, people = incident
    reply(client, "STOP")
    alert_id = send(client, app, incident_id, ["email", "sms"])
    # Ann has no email: SMS only; Zoé opted out: email only, once.
    assert deliveries(app, alert_id) == sorted([(people["zoe"], "email"), (people["ann"], "sms")])


def test_opted_out_traveller_without_email_gets_nothing_by_sms(client, app, incident):
    incident_id, people = incident
    reply(client, "UNSUBSCRIBE", sender=ANN)
    alert_id = send(client, app, incident_id, ["sms"])
    assert deliveries(app, alert_id) == [(people["zoe"], "sms")]


def test_after_start_the_next_alert_goes_by_sms_again(client, app, incident):
    incident_id, people = incident
    reply(client, "ARRET", sid="SMa")
    reply(client, "START", sid="SMb")
    alert_id = send(client, app, incident_id, ["sms"])
    assert deliveries(app, alert_id) == sorted([(people["zoe"], "sms"), (people["ann"], "sms")])


# --- the notify-level store -------------------------------------------------------------------

def test_record_keyword_keeps_one_row_per_number_and_the_latest_wins(db):
    record_keyword(db, ZOE, "opt_out", "STOP")
    record_keyword(db, ZOE, "opt_in", "START")
    record_keyword(db, ZOE, "opt_out", "arrêt")
    db.commit()
    rows = db.scalars(select(SmsOptOut)).all()
    assert len(rows) == 1 and rows[0].opted_out is True and rows[0].keyword == "ARRÊT"
    assert is_opted_out(db, ZOE) and not is_opted_out(db, ANN) and not is_opted_out(db, None)


def test_opted_out_among_returns_only_numbers_that_are_off(db):
    record_keyword(db, ZOE, "opt_out", "STOP")
    record_keyword(db, ANN, "opt_in", "START")
    db.commit()
    assert opted_out_among(db, [ZOE, ANN, "+15550000000", None]) == {ZOE}
    assert opted_out_among(db, []) == set()


@pytest.mark.parametrize("phone, intent", [(ZOE, "safe"), (ZOE, None), ("", "opt_out"), ("  ", "opt_in")])
def test_record_keyword_refuses_anything_but_an_opt_out_or_opt_in_for_a_number(db, phone, intent):
    with pytest.raises(ValueError):
        record_keyword(db, phone, intent, "STOP")
