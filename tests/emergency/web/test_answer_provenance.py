"""Every safety answer keeps who gave it, by which channel, when and from which message; the
traveller's row on the incident page lists them all. After an incident is closed, answers
are still recorded, marked late, and the incident's figures stay as they were at closing.

Runs on SQLite and on PostgreSQL+PostGIS with the same assertions."""
from __future__ import annotations

import html
import itertools

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from emergency.core.models import SafetyResponse
from notify.models import InboundMessage
from tests.conftest import api_headers, login, post_incident, post_traveller

TOKEN = "twilio-test-auth-token"
ZOE_PHONE = "+33612345678"
_sids = itertools.count(1)


@pytest.fixture
def app(make_app, database_url):
    return make_app(database_url, TWILIO_AUTH_TOKEN=TOKEN)


@pytest.fixture
def lisbon(client, app):
    """Floods in Lisbon, a safety check sent by email and SMS to Ann (English) and Zoé (French)."""
    people = {
        "ann": post_traveller(client, app, "Ann", email="ann@example.org", phone="+351912345678"),
        "zoe": post_traveller(client, app, "Zoé", email="zoe@example.org", phone=ZOE_PHONE, language="fr"),
    }
    incident_id = post_incident(client, app, "Floods")
    headers = api_headers(app)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                        json={"channels": ["email", "sms"]}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return incident_id, people


def sms_reply(client, body: str, sender: str = ZOE_PHONE) -> str:
    """An SMS reply through the signed Twilio webhook; returns its MessageSid."""
    sid = f"SM{next(_sids):06d}"
    params = {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature("https://consular.test/webhooks/twilio/sms", params)
    assert client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}).status_code == 200
    return sid


def answer_page_post(client, app, incident_id: int, traveller_id: int, answer: str, message: str = "",
                     **form: str) -> None:
    """The traveller answers on the page their link opens (a POST, as a person's browser sends)."""
    with app.test_request_context():
        from emergency.services.safety_links import make_token

        token = make_token(incident_id, traveller_id)
    assert client.post(f"/r/{token}", data={"answer": answer, "message": message, **form}).status_code == 200


def responses(app) -> list[SafetyResponse]:
    with app.app_context():
        from emergency.core.database import db_session

        return list(db_session().scalars(select(SafetyResponse).order_by(SafetyResponse.id)))


def inbound_id(app, sid: str) -> int:
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().scalar(select(InboundMessage.id).where(InboundMessage.provider_id == sid))


def stats(client, app, incident_id: int) -> dict:
    return client.get(f"/api/v1/incidents/{incident_id}", headers=api_headers(app)).get_json()["stats"]


def close(client, app, incident_id: int) -> None:
    closed = client.post(f"/api/v1/incidents/{incident_id}/close", headers=api_headers(app))
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"


def incident_page(client, incident_id: int, lang: str) -> str:
    return html.unescape(client.get(f"/incidents/{incident_id}?lang={lang}").get_data(as_text=True))


# ---------------------------------------------------------------- who gave it, from what


def test_an_sms_reply_is_the_travellers_answer_from_that_inbound_message(client, app, lisbon):
    incident_id, people = lisbon
    sid = sms_reply(client, "AIDE")
    [answer] = responses(app)
    assert (answer.traveller_id, answer.status, answer.channel) == (people["zoe"], "need_help", "sms")
    assert (answer.reported_by, answer.reporter_name, answer.late) == ("traveller", None, False)
    assert answer.source_message == f"inbound:{inbound_id(app, sid)}"


def test_a_twilio_retry_of_the_same_reply_adds_no_second_answer(client, app, lisbon):
    params = {"MessageSid": "SMretry", "From": ZOE_PHONE, "To": "+15005550006", "Body": "2", "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature("https://consular.test/webhooks/twilio/sms", params)
    for _ in range(2):
        client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert [r.source_message for r in responses(app)] == [f"inbound:{inbound_id(app, 'SMretry')}"]


@pytest.mark.parametrize("form, channel", [({}, "web"), ({"via": "link"}, "link")])
def test_an_answer_on_the_travellers_page_is_theirs_and_names_no_message(client, app, lisbon, form, channel):
    """The page itself, or the one button of the page a one-click link opens."""
    incident_id, people = lisbon
    answer_page_post(client, app, incident_id, people["ann"], "safe", message="At the hotel", **form)
    [answer] = responses(app)
    assert (answer.traveller_id, answer.status, answer.channel, answer.message) == (
        people["ann"], "safe", channel, "At the hotel")
    assert (answer.reported_by, answer.reporter_name, answer.source_message, answer.late) == (
        "traveller", None, None, False)


def checkin(client, incident_id, email, answer="help"):
    return client.post(f"/incidents/{incident_id}/checkin", data={
        "given_name": "Léo", "family_name": "Martin", "email": email, "phone": "",
        "language": "fr", "answer": answer, "message": "", "consent": "1"})


def test_a_checkin_under_a_registered_travellers_email_is_no_answer_of_theirs(client, app, lisbon):
    """Anyone may type a registered traveller's email into the public form: until the code sent
    to that address comes back, nothing is recorded as that traveller's answer."""
    incident_id, _people = lisbon
    assert checkin(client, incident_id, "ann@example.org").status_code == 200
    assert responses(app) == []


def test_a_newcomers_checkin_is_their_own_answer(client, app, lisbon):
    incident_id, people = lisbon
    assert checkin(client, incident_id, "leo@example.org").status_code == 200
    [answer] = responses(app)
    assert answer.traveller_id not in people.values()
    assert (answer.status, answer.channel, answer.reported_by, answer.reporter_name) == (
        "need_help", "web", "traveller", None)


def test_the_responses_api_gives_each_answers_provenance(client, app, lisbon):
    incident_id, people = lisbon
    sid = sms_reply(client, "1")
    answer_page_post(client, app, incident_id, people["ann"], "help")
    body = client.get(f"/api/v1/incidents/{incident_id}/responses", headers=api_headers(app)).get_json()
    assert [{k: r[k] for k in ("traveller_id", "status", "channel", "reported_by", "reporter_name",
                                "source_message", "late")} for r in body] == [
        {"traveller_id": people["zoe"], "status": "safe", "channel": "sms", "reported_by": "traveller",
         "reporter_name": None, "source_message": f"inbound:{inbound_id(app, sid)}", "late": False},
        {"traveller_id": people["ann"], "status": "need_help", "channel": "web", "reported_by": "traveller",
         "reporter_name": None, "source_message": None, "late": False},
    ]
    assert all(r["received_at"].endswith("+00:00") for r in body)
    assert len({r["id"] for r in body}) == 2


# ---------------------------------------------------------------- after closing


def test_answers_after_closing_are_recorded_late_and_the_figures_stay_as_at_closing(client, app, lisbon):
    incident_id, people = lisbon
    answer_page_post(client, app, incident_id, people["ann"], "safe")
    at_closing = stats(client, app, incident_id)
    assert (at_closing["safe"], at_closing["need_help"], at_closing["no_answer"]) == (1, 0, 1)
    close(client, app, incident_id)

    sms_reply(client, "2")  # Zoé, who had not answered, needs help
    answer_page_post(client, app, incident_id, people["ann"], "help", message="Water rising")

    assert [(r.traveller_id, r.status, r.late) for r in responses(app)] == [
        (people["ann"], "safe", False), (people["zoe"], "need_help", True), (people["ann"], "need_help", True)]
    assert stats(client, app, incident_id) == at_closing


def test_a_late_sms_reply_is_acknowledged_as_recorded(client, app, lisbon):
    incident_id, _people = lisbon
    close(client, app, incident_id)
    params = {"MessageSid": "SMlate", "From": ZOE_PHONE, "To": "+15005550006", "Body": "aide", "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature("https://consular.test/webhooks/twilio/sms", params)
    reply = client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert "Nous avons noté que vous avez besoin d'aide" in html.unescape(reply.get_data(as_text=True))
    assert [(r.status, r.late) for r in responses(app)] == [("need_help", True)]


def test_closing_keeps_the_figures_of_answers_given_before(client, app, lisbon):
    incident_id, people = lisbon
    answer_page_post(client, app, incident_id, people["ann"], "help")
    sms_reply(client, "1")
    before = stats(client, app, incident_id)
    close(client, app, incident_id)
    assert stats(client, app, incident_id) == before == {**before, "safe": 1, "need_help": 1, "no_answer": 0}


# ---------------------------------------------------------------- the incident page


@pytest.mark.parametrize("lang, words", [
    ("en", {"history": "Answer history", "count": "2 answers", "late": ">late<", "web": "Web page",
            "sms": "SMS reply no. ", "traveller": "The traveller",
            "closed": "the figures stay as they were at closing"}),
    ("fr", {"history": "Historique des réponses", "count": "2 réponses", "late": ">en retard<",
            "web": "Page Web", "sms": "Réponse SMS n\u00a0°\u00a0", "traveller": "Le voyageur",
            "closed": "les chiffres restent ceux de la clôture"}),
])
def test_the_travellers_row_lists_every_answer_with_who_gave_it_and_late_ones_flagged(
        client, app, lisbon, lang, words):
    incident_id, people = lisbon
    sms_reply(client, "1")
    close(client, app, incident_id)
    answer_page_post(client, app, incident_id, people["zoe"], "help", message="Plus d'eau potable")
    login(client, "viewer@example.org")
    page = incident_page(client, incident_id, lang)
    row = page[page.index("Zoé Roy"):]
    row = row[:row.index("</tr>")]
    assert "<details" in row
    for key in ("count", "late", "web", "sms", "traveller"):
        assert words[key] in row, key
    assert "Plus d'eau potable" in row
    assert words["history"] in page and words["closed"] in page


def test_a_traveller_who_never_answered_has_no_history(client, app, lisbon):
    login(client, "viewer@example.org")
    page = incident_page(client, lisbon[0], "en")
    row = page[page.index("Ann Roy"):]
    assert "<details" not in row[:row.index("</tr>")]


@pytest.mark.parametrize("lang, confirm", [
    ("en", "Answers that arrive after closing are still recorded and shown as late; "
           "the incident's figures stay as they were at closing."),
    ("fr", "Les réponses qui arrivent après la clôture sont toujours enregistrées et marquées "
           "«\u00a0en retard\u00a0»\u00a0; les chiffres de l'incident restent ceux de la clôture."),
])
def test_the_close_confirmation_says_answers_are_still_recorded(client, app, lisbon, lang, confirm):
    login(client, "coordinator@example.org")
    page = incident_page(client, lisbon[0], lang)
    assert confirm in page
    assert "can no longer answer" not in page and "ne pourront plus répondre" not in page
