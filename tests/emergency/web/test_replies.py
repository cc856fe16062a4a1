"""SMS answers in English or French, any case, with or without accents, end to end; anything else is
kept for a consular officer, who reads it under "Messages to read" on the incident page."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from emergency.core.models import SafetyResponse
from notify.replies import parse_reply
from tests.conftest import api_headers, post_incident, stop

TOKEN = "twilio-test-auth-token"
BASE = "https://consular.test"
ZOE, ANN, TOM = "+33612345678", "+351912345678", "+14165550199"
_sids = itertools.count(1)

# The keywords a traveller may answer with, in the forms they type them.
SAFE_WORDS = ["1", "SAFE", "safe", "Safe", "SAUF", "sauf", "Sauf", "OK", "ok", "Ok", "YES", "yes", "Yes",
              "OUI", "oui", "Oui", "oui.", "Ok!", "sâuf", "OÙI"]
HELP_WORDS = ["2", "HELP", "help", "Help", "AIDE", "aide", "Aide", "SOS", "sos", "Sos", "aidé", "AÏDE", "SOS!"]


@pytest.fixture
def app_overrides():
    return {"TWILIO_AUTH_TOKEN": TOKEN}


def open_and_alert(client, app, title, lat, lon):
    headers = api_headers(app)
    incident_id = post_incident(client, app, title, lat=lat, lon=lon)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                        json={"channels": ["sms"]}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return incident_id


@pytest.fixture
def lisbon(client, app, make_traveller):
    people = {"zoe": make_traveller("Zoé", phone=ZOE, language="fr"), "ann": make_traveller("Ann", phone=ANN, language="en")}
    return open_and_alert(client, app, "Floods", 38.72, -9.14), people


def reply(client, body, sender=ZOE):
    params = {"MessageSid": f"SM{next(_sids):06d}", "From": sender, "To": "+15005550006", "Body": body,
              "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/webhooks/twilio/sms", params)
    response = client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def answers(app):
    with app.app_context():
        from emergency.core.database import db_session

        return [r.status for r in db_session().scalars(select(SafetyResponse).order_by(SafetyResponse.id))]


@pytest.mark.parametrize("word", SAFE_WORDS)
def test_every_safe_word_means_safe_in_any_case_and_with_accents(word):
    assert parse_reply(word) == "safe"


@pytest.mark.parametrize("word", HELP_WORDS)
def test_every_help_word_means_need_help_in_any_case_and_with_accents(word):
    assert parse_reply(word) == "need_help"


@pytest.mark.parametrize("word, status", [("Oui", "safe"), ("SAUF", "safe"), ("yes", "safe"), ("1", "safe"),
                                          ("aide", "need_help"), ("SOS", "need_help"), ("2", "need_help")])
def test_a_keyword_reply_by_sms_records_the_travellers_answer(client, app, lisbon, word, status):
    reply(client, word)
    assert answers(app) == [status]


def test_french_traveller_is_answered_in_french_first_and_english_second(client, app, lisbon):
    safe = reply(client, "oui")
    assert safe.index("en sécurité") < safe.index("you are safe")
    help_ = reply(client, "AIDE")
    assert help_.index("besoin d'aide") < help_.index("need help")
    unread = reply(client, "on est à l'aéroport")
    assert unread.index("agent consulaire") < unread.index("consular officer")


def test_english_traveller_is_answered_in_english_first(client, app, lisbon):
    answer = reply(client, "safe", sender=ANN)
    assert answer.index("you are safe") < answer.index("en sécurité")


def test_free_text_records_no_answer_and_is_listed_to_read_on_the_incident_page(client, app, lisbon, login_as):
    incident_id, _people = lisbon
    reply(client, "Nous sommes bloqués à l'hôtel, que faire ?")
    reply(client, "oui")  # understood: not to read
    assert answers(app) == ["safe"]
    page = login_as("viewer@example.org").get(f"/incidents/{incident_id}").get_data(as_text=True)
    section = page[page.index('id="messages-to-read"'):page.index('id="recipients"')]
    assert "Nous sommes bloqués à l&#39;hôtel, que faire ?" in section
    assert "Zoé Roy" in section and "<td>French</td>" in section  # the language by name, not its code
    assert "UTC" in section  # when it came
    assert ">oui<" not in section


def test_messages_to_read_lists_only_this_incidents_people_newest_first(client, app, lisbon, make_traveller):
    incident_id, _people = lisbon
    make_traveller("Tom", phone=TOM, language="en", stops=[stop("CA", place="Toronto")])
    toronto = open_and_alert(client, app, "Ice storm", 43.65, -79.38)
    reply(client, "first question")
    reply(client, "second question", sender=ANN)
    reply(client, "is the airport open?", sender=TOM)
    reply(client, "from a stranger", sender="+15550001111")
    with app.app_context():
        from emergency.core.database import db_session
        from emergency.core.models import Incident
        from emergency.services import dashboard

        lisbon_messages = dashboard.messages_to_read(db_session().get(Incident, incident_id))
        toronto_messages = dashboard.messages_to_read(db_session().get(Incident, toronto))
    assert [(m["body"], m["name"]) for m in lisbon_messages] == [("second question", "Ann Roy"),
                                                                 ("first question", "Zoé Roy")]
    assert [m["body"] for m in toronto_messages] == ["is the airport open?"]


def test_incident_page_says_when_there_is_nothing_to_read(client, app, lisbon, login_as):
    incident_id, _people = lisbon
    page = login_as("viewer@example.org").get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "No message waiting to be read." in page


def test_messages_to_read_are_shown_in_french_to_a_french_speaking_officer(client, app, lisbon, login_as):
    incident_id, _people = lisbon
    reply(client, "question?")
    page = login_as("viewer@example.org").get(f"/incidents/{incident_id}?lang=fr").get_data(as_text=True)
    assert "Messages à lire" in page
