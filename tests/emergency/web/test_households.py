"""Households: a traveller's answer covers the companions on their registration unless a
companion answers for themselves (their own answer always wins, whenever it comes); the record
shows who reported for whom; the figures say how many people were covered by someone else.

Runs on SQLite and on PostgreSQL+PostGIS with the same assertions."""
from __future__ import annotations

import html
import itertools
import re

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from emergency.core.models import Case, SafetyResponse
from notify.models import Delivery, OutboxMessage
from tests.conftest import api_headers, login, post_incident, stop

TOKEN = "twilio-test-auth-token"
ANN = "+351912345678"
LEA = "+351912000111"
ZOE = "+33612345678"
_sids = itertools.count(1)


@pytest.fixture
def app(make_app, database_url):
    return make_app(database_url, TWILIO_AUTH_TOKEN=TOKEN)


def register(client, app, given_name: str, phone: str, companions: list[dict], language: str = "en") -> dict:
    """A traveller in Lisbon with companions, through the API: {"id": ..., companion given name: id}."""
    response = client.post("/api/v1/travellers", headers=api_headers(app), json={
        "given_name": given_name, "family_name": "Roy", "email": f"{given_name.lower()}@example.org",
        "phone": phone, "language": language, "stops": [stop("PT", place="Lisbon")],
        "companions": [{"family_name": "Roy", "age_band": "18-64", **c} for c in companions]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return {"id": body["id"], **{c["given_name"]: c["id"] for c in body["companions"]}}


@pytest.fixture
def lisbon(client, app):
    """Floods in Lisbon, a safety check sent by email and SMS. Ann travels with Léa (who has her
    own phone) and Max (a child, no phone); Zoé with Paul, who gave Ann's number as his."""
    people = {
        "ann": register(client, app, "Ann", ANN, [{"given_name": "Léa", "phone": LEA},
                                                 {"given_name": "Max", "age_band": "5-11"}]),
        "zoe": register(client, app, "Zoé", ZOE, [{"given_name": "Paul", "phone": ANN}], language="fr"),
    }
    incident_id = post_incident(client, app, "Floods")
    headers = api_headers(app)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                        json={"channels": ["email", "sms"]}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return incident_id, people


def sms_reply(client, body: str, sender: str) -> str:
    sid = f"SM{next(_sids):06d}"
    params = {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature("https://consular.test/webhooks/twilio/sms", params)
    reply = client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert reply.status_code == 200
    return html.unescape(reply.get_data(as_text=True))


def page_url(app, incident_id: int, traveller_id: int) -> str:
    with app.test_request_context():
        from emergency.services.safety_links import make_token

        return f"/r/{make_token(incident_id, traveller_id)}"


def answer_page_post(client, app, incident_id: int, traveller_id: int, answer: str, status: int = 200, **form):
    response = client.post(page_url(app, incident_id, traveller_id), data={"answer": answer, **form})
    assert response.status_code == status
    return html.unescape(response.get_data(as_text=True))


def responses(app) -> list[SafetyResponse]:
    with app.app_context():
        from emergency.core.database import db_session

        return list(db_session().scalars(select(SafetyResponse).order_by(SafetyResponse.id)))


def household_stats(client, app, incident_id: int) -> dict:
    body = client.get(f"/api/v1/incidents/{incident_id}", headers=api_headers(app)).get_json()
    return body["stats"]


def household(client, app, incident_id: int, traveller_id: int) -> dict[str, dict]:
    """The traveller's household from the recipients API, by first name."""
    body = client.get(f"/api/v1/incidents/{incident_id}/recipients", headers=api_headers(app)).get_json()
    [row] = [r for r in body["recipients"] if r["traveller_id"] == traveller_id]
    return {p["name"].split()[0]: p for p in row["household"]}


def summary(person: dict) -> tuple:
    answer = person["answer"] or {}
    return person["status"], person["basis"], answer.get("reported_by")


def cases_of(app) -> list[tuple[int, list[tuple[str, int | None]]]]:
    """(traveller, [(event kind, companion the event's answer is about)...]) of every case."""
    with app.app_context():
        from emergency.core.database import db_session

        return [(c.traveller_id, [(e.kind, e.response.companion_id if e.response else None) for e in c.events])
                for c in db_session().scalars(select(Case).order_by(Case.id))]


# ---------------------------------------------------------------- covering and winning


def test_the_travellers_safe_covers_her_companions(client, app, lisbon):
    incident_id, people = lisbon
    ann = people["ann"]
    answer_page_post(client, app, incident_id, ann["id"], "safe")
    assert [(r.traveller_id, r.companion_id, r.reported_by) for r in responses(app)] == [(ann["id"], None, "traveller")]
    hh = household(client, app, incident_id, ann["id"])
    assert list(hh) == ["Ann", "Léa", "Max"]
    assert summary(hh["Ann"]) == ("safe", "own", "traveller")
    assert summary(hh["Léa"]) == summary(hh["Max"]) == ("safe", "covered", "traveller")
    assert (hh["Léa"]["kind"], hh["Léa"]["companion_id"], hh["Léa"]["covered_by_someone_else"]) == (
        "companion", ann["Léa"], True)
    stats = household_stats(client, app, incident_id)
    assert (stats["safe"], stats["need_help"], stats["no_answer"]) == (1, 0, 1)  # per registration, as before
    assert stats["household"] == {"people": 5, "travellers": 2, "companions": 3, "safe": 3, "need_help": 0,
                                  "no_answer": 2, "covered_by_someone_else": 2}


def test_a_companions_own_sms_wins_over_a_later_travellers_safe_and_opens_the_travellers_case(client, app, lisbon):
    incident_id, people = lisbon
    ann = people["ann"]
    reply = sms_reply(client, "2", LEA)
    assert "We have recorded that you need help" in reply
    answer_page_post(client, app, incident_id, ann["id"], "safe")  # "everyone safe", one tap

    [lea_answer, ann_answer] = responses(app)
    assert (lea_answer.traveller_id, lea_answer.companion_id, lea_answer.status, lea_answer.reported_by,
            lea_answer.reporter_name, lea_answer.channel) == (ann["id"], ann["Léa"], "need_help", "companion",
                                                               "Léa Roy", "sms")
    assert lea_answer.source_message.startswith("inbound:")
    assert (ann_answer.companion_id, ann_answer.status) == (None, "safe")
    hh = household(client, app, incident_id, ann["id"])
    assert summary(hh["Léa"]) == ("need_help", "own", "companion")
    assert summary(hh["Max"]) == ("safe", "covered", "traveller")
    assert hh["Léa"]["covered_by_someone_else"] is False
    assert cases_of(app) == [(ann["id"], [("opened", ann["Léa"])])]
    figures = household_stats(client, app, incident_id)["household"]
    assert (figures["safe"], figures["need_help"], figures["covered_by_someone_else"]) == (2, 1, 1)


def test_the_case_page_says_the_call_for_help_came_from_the_companion(client, app, lisbon):
    incident_id, people = lisbon
    sms_reply(client, "AIDE", LEA)
    login(client, "viewer@example.org")
    with app.app_context():
        from emergency.core.database import db_session

        case_id = db_session().scalar(select(Case.id))
    for lang, words in (("en", "From Léa Roy, travelling with them, about themselves."),
                        ("fr", "De Léa Roy, qui voyage avec cette personne, à son propre sujet.")):
        page = html.unescape(client.get(f"/cases/{case_id}?lang={lang}").get_data(as_text=True))
        assert words in page
        household_list = page[page.index('id="case-household"'):]
        assert "Léa Roy" in household_list[:household_list.index("</ul>")]


def test_the_travellers_own_number_wins_when_a_companion_registered_it_too(client, app, lisbon):
    """Paul, Zoé's companion, gave Ann's number: a reply from it is Ann's."""
    _incident_id, people = lisbon
    sms_reply(client, "1", ANN)
    assert [(r.traveller_id, r.companion_id, r.reported_by) for r in responses(app)] == [
        (people["ann"]["id"], None, "traveller")]


def test_a_companions_words_no_keyword_reads_wait_for_an_officer(client, app, lisbon):
    incident_id, _people = lisbon
    reply = sms_reply(client, "Where do we go?", LEA)
    assert "a consular officer will read your message" in reply
    assert responses(app) == []
    login(client, "viewer@example.org")
    page = html.unescape(client.get(f"/incidents/{incident_id}?lang=en").get_data(as_text=True))
    table = page[page.index('id="messages-table"'):]
    assert "Léa Roy, travelling with Ann Roy" in table[:table.index("</table>")]


# ---------------------------------------------------------------- the traveller's page


def test_the_answer_page_lists_the_companions_and_one_tap_covers_them(client, app, lisbon):
    incident_id, people = lisbon
    for lang, words in (("en", ("People travelling with you", "Same answer as mine")),
                        ("fr", ("Personnes qui voyagent avec vous", "Même réponse que moi"))):
        page = html.unescape(client.get(f"{page_url(app, incident_id, people['ann']['id'])}?lang={lang}")
                             .get_data(as_text=True))
        assert all(w in page for w in words) and "Léa Roy" in page and "Max Roy" in page
        assert "Paul" not in page  # nobody else's household
    answer_page_post(client, app, incident_id, people["ann"]["id"], "safe", **{
        f"companion-{people['ann']['Léa']}": "same", f"companion-{people['ann']['Max']}": "same"})
    assert [(r.companion_id, r.status) for r in responses(app)] == [(None, "safe")]


def test_the_traveller_may_give_one_companion_a_different_answer(client, app, lisbon):
    incident_id, people = lisbon
    ann = people["ann"]
    answer_page_post(client, app, incident_id, ann["id"], "safe", **{f"companion-{ann['Max']}": "help"})
    assert [(r.companion_id, r.status, r.reported_by, r.channel) for r in responses(app)] == [
        (None, "safe", "traveller", "web"), (ann["Max"], "need_help", "traveller", "web")]
    hh = household(client, app, incident_id, ann["id"])
    assert summary(hh["Max"]) == ("need_help", "for", "traveller")
    assert summary(hh["Léa"]) == ("safe", "covered", "traveller")
    assert cases_of(app) == [(ann["id"], [("opened", ann["Max"])])]

    # Later, "everyone safe" again by one tap: what was said for Max by name stands.
    page = html.unescape(client.get(page_url(app, incident_id, ann["id"])).get_data(as_text=True))
    assert "Current answer for Max Roy: needs help." in page and "Keep their current answer" in page
    answer_page_post(client, app, incident_id, ann["id"], "safe")
    assert summary(household(client, app, incident_id, ann["id"])["Max"]) == ("need_help", "for", "traveller")


@pytest.mark.parametrize("field, value", [
    ("paul", "help"),  # another household's companion
    ("999999", "help"),  # nobody
    ("abc", "help"),
    ("max", "maybe"),  # an answer we do not know
])
def test_a_forged_companion_in_the_form_is_refused_and_nothing_is_recorded(client, app, lisbon, field, value):
    incident_id, people = lisbon
    ids = {"paul": people["zoe"]["Paul"], "max": people["ann"]["Max"]}
    answer_page_post(client, app, incident_id, people["ann"]["id"], "safe", status=400,
                     **{f"companion-{ids.get(field, field)}": value})
    assert responses(app) == [] and cases_of(app) == []


# ---------------------------------------------------------------- officers


def test_an_officer_records_an_answer_for_a_companion_over_the_api(client, app, lisbon):
    incident_id, people = lisbon
    ann = people["ann"]
    url = f"/api/v1/incidents/{incident_id}/responses"
    body = {"traveller_id": ann["id"], "companion_id": ann["Max"], "status": "need_help", "message": "Fever"}
    created = client.post(url, headers=api_headers(app), json=body)
    assert created.status_code == 201
    answer = created.get_json()
    assert {k: answer[k] for k in ("recorded", "traveller_id", "companion_id", "companion_name", "status",
                                   "channel", "reported_by", "reporter_name", "message", "late")} == {
        "recorded": True, "traveller_id": ann["id"], "companion_id": ann["Max"], "companion_name": "Max Roy",
        "status": "need_help", "channel": "console", "reported_by": "officer",
        "reporter_name": "Cora Coordinator", "message": "Fever", "late": False}
    again = client.post(url, headers=api_headers(app), json={**body, "message": None})
    assert (again.status_code, again.get_json()) == (200, {"recorded": False})
    assert cases_of(app) == [(ann["id"], [("opened", ann["Max"])])]

    listed = client.get(url, headers=api_headers(app)).get_json()
    assert [(r["companion_id"], r["companion_name"], r["reported_by"]) for r in listed] == [
        (ann["Max"], "Max Roy", "officer")]
    hh = household(client, app, incident_id, ann["id"])
    assert summary(hh["Max"]) == ("need_help", "for", "officer")
    assert [a["id"] for a in hh["Max"]["answers"]] == [answer["id"]]
    assert hh["Ann"]["status"] is None and hh["Ann"]["answers"] == []

    case = client.get("/api/v1/cases", headers=api_headers(app)).get_json()["cases"][0]
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=api_headers(app)).get_json()
    assert [(p["name"], p["status"], p["basis"]) for p in detail["household"]] == [
        ("Ann Roy", None, None), ("Léa Roy", None, None), ("Max Roy", "need_help", "for")]
    assert detail["events"][0]["answer"]["companion_name"] == "Max Roy"


@pytest.mark.parametrize("body, field", [
    ({"companion_id": "paul"}, "companion_id"),  # Zoé's companion, not Ann's
    ({"companion_id": "1x"}, "companion_id"),
    ({"status": "fine"}, "status"),
    ({"traveller_id": 999999}, "traveller_id"),
])
def test_the_api_refuses_an_answer_for_someone_outside_the_household(client, app, lisbon, body, field):
    incident_id, people = lisbon
    if body.get("companion_id") == "paul":
        body = {"companion_id": people["zoe"]["Paul"]}
    request = {"traveller_id": people["ann"]["id"], "status": "safe", **body}
    refused = client.post(f"/api/v1/incidents/{incident_id}/responses", headers=api_headers(app), json=request)
    assert refused.status_code == 422
    assert list(refused.get_json()["fields"]) == [field]
    assert responses(app) == []


def test_a_viewer_cannot_record_an_answer(client, app, lisbon):
    incident_id, people = lisbon
    refused = client.post(f"/api/v1/incidents/{incident_id}/responses",
                          headers=api_headers(app, "viewer@example.org"),
                          json={"traveller_id": people["ann"]["id"], "status": "safe"})
    assert refused.status_code == 403 and responses(app) == []


def test_an_officer_records_an_answer_for_a_companion_on_the_incident_page(client, app, lisbon):
    incident_id, people = lisbon
    ann = people["ann"]
    login(client, "coordinator@example.org")
    url = f"/incidents/{incident_id}/travellers/{ann['id']}/answer"
    done = client.post(url, data={"answer-person": str(ann["Léa"]), "answer-status": "safe"}, follow_redirects=True)
    assert "Answer recorded." in html.unescape(done.get_data(as_text=True))
    refused = client.post(url, data={"answer-person": str(people["zoe"]["Paul"]), "answer-status": "need_help"},
                          follow_redirects=True)
    assert "Choose someone on this traveller's registration." in html.unescape(refused.get_data(as_text=True))
    assert [(r.companion_id, r.status, r.reported_by, r.reporter_name, r.channel) for r in responses(app)] == [
        (ann["Léa"], "safe", "officer", "Cora Coordinator", "console")]
    assert cases_of(app) == []


def test_an_officer_records_an_answer_for_a_companion_on_the_case_page(client, app, lisbon):
    incident_id, people = lisbon
    ann = people["ann"]
    sms_reply(client, "2", ANN)
    with app.app_context():
        from emergency.core.database import db_session

        case_id = db_session().scalar(select(Case.id))
    login(client, "coordinator@example.org")
    page = html.unescape(client.get(f"/cases/{case_id}").get_data(as_text=True))
    assert re.search(rf'<option value="{ann["Max"]}">Max Roy</option>', page)
    done = client.post(f"/cases/{case_id}/answer", data={"answer-person": str(ann["Max"]), "answer-status": "safe",
                                                         "answer-message": "With his mother"},
                       follow_redirects=True)
    page = html.unescape(done.get_data(as_text=True))
    assert "Answer recorded." in page and "About Max Roy, travelling with them." in page
    assert [(r.companion_id, r.status, r.reported_by, r.channel) for r in responses(app)] == [
        (None, "need_help", "traveller", "sms"), (ann["Max"], "safe", "officer", "phone")]
    assert cases_of(app) == [(ann["id"], [("opened", None), ("answer", ann["Max"])])]


# ---------------------------------------------------------------- figures and the incident page


def test_household_figures_count_everyone_covered_by_someone_else(client, app, lisbon):
    incident_id, people = lisbon
    answer_page_post(client, app, incident_id, people["ann"]["id"], "safe")  # covers Léa and Max
    sms_reply(client, "1", LEA)  # Léa's own answer
    client.post(f"/api/v1/incidents/{incident_id}/responses", headers=api_headers(app),
                json={"traveller_id": people["zoe"]["id"], "status": "safe"})  # an officer, for Zoé
    figures = household_stats(client, app, incident_id)["household"]
    # Ann and Léa answered themselves; Max and Paul are covered; an officer answered for Zoé.
    assert figures == {"people": 5, "travellers": 2, "companions": 3, "safe": 5, "need_help": 0, "no_answer": 0,
                       "covered_by_someone_else": 3}


def test_late_answers_are_shown_but_left_out_of_the_household_figures(client, app, lisbon):
    incident_id, people = lisbon
    answer_page_post(client, app, incident_id, people["ann"]["id"], "safe")
    at_closing = household_stats(client, app, incident_id)
    assert client.post(f"/api/v1/incidents/{incident_id}/close", headers=api_headers(app)).status_code == 200
    sms_reply(client, "2", LEA)  # after closing
    assert [(r.companion_id, r.late) for r in responses(app)] == [(None, False), (people["ann"]["Léa"], True)]
    assert household_stats(client, app, incident_id) == at_closing
    lea = household(client, app, incident_id, people["ann"]["id"])["Léa"]
    assert summary(lea) == ("need_help", "own", "companion") and lea["answer"]["late"] is True
    assert cases_of(app) == [(people["ann"]["id"], [("opened", people["ann"]["Léa"])])]


@pytest.mark.parametrize("lang, words", [
    ("en", {"covered": "covered by Ann Roy's answer", "own": "own answer",
            "for": "reported by officer Cora Coordinator for Max Roy", "history": "for Max Roy",
            "self": "Léa Roy, for themselves", "tile": "Covered by someone else"}),
    ("fr", {"covered": "couvert par la réponse de Ann Roy", "own": "sa propre réponse",
            "for": "signalé par l'agent consulaire Cora Coordinator pour Max Roy", "history": "pour Max Roy",
            "self": "Léa Roy, en son propre nom", "tile": "Couverts par quelqu'un d'autre"}),
])
def test_the_recipient_row_lists_the_household_with_who_reported_for_whom(client, app, lisbon, lang, words):
    incident_id, people = lisbon
    ann = people["ann"]
    sms_reply(client, "1", LEA)
    client.post(f"/api/v1/incidents/{incident_id}/responses", headers=api_headers(app),
                json={"traveller_id": ann["id"], "companion_id": ann["Max"], "status": "need_help"})
    client.post(f"/api/v1/incidents/{incident_id}/responses", headers=api_headers(app),
                json={"traveller_id": people["zoe"]["id"], "status": "safe"})
    answer_page_post(client, app, incident_id, ann["id"], "safe")
    login(client, "viewer@example.org")
    page = html.unescape(client.get(f"/incidents/{incident_id}?lang={lang}").get_data(as_text=True))
    assert words["tile"] in page
    row = page[page.index(f'data-traveller="{ann["id"]}"'):]
    row = row[:row.index("</tr>")]
    assert words["own"] in row and words["for"] in row and words["history"] in row and words["self"] in row
    zoe_row = page[page.index(f'data-traveller="{people["zoe"]["id"]}"'):]
    assert words["covered"].replace("Ann Roy", "Zoé Roy") in zoe_row[:zoe_row.index("</tr>")]
    assert "Record an answer" not in page and "Enregistrer une réponse" not in page  # viewers only read


# ---------------------------------------------------------------- which message a link came in


def test_a_link_answer_names_the_message_it_came_in(client, app, lisbon):
    incident_id, people = lisbon
    with app.app_context():
        from emergency.core.database import db_session

        email = db_session().scalar(select(OutboxMessage).where(OutboxMessage.to == "ann@example.org"))
        delivery = db_session().get(Delivery, email.delivery_id)
        assert (delivery.recipient_id, delivery.channel) == (people["ann"]["id"], "email")
        body = email.body
    safe_link = re.search(r"https://consular\.test(/r/[^/\s]+)/safe", body).group(1)
    assert client.get(f"{safe_link}/safe").status_code == 200
    assert client.post(safe_link, data={"answer": "safe", "via": "link"}).status_code == 200
    [answer] = responses(app)
    assert (answer.traveller_id, answer.channel, answer.source_message) == (
        people["ann"]["id"], "link", f"delivery:{email.delivery_id}")


def test_a_link_made_before_links_named_their_message_still_works(client, app, lisbon):
    incident_id, people = lisbon
    with app.test_request_context():
        from emergency.services.safety_links import _serializer

        old = _serializer().dumps([incident_id, people["ann"]["id"]])
        odd = [_serializer().dumps(payload) for payload in (
            [incident_id, people["ann"]["id"], 1, 2, 3], [incident_id, people["ann"]["id"], "1"],
            [incident_id, people["ann"]["id"], None], [incident_id, people["ann"]["id"], 1, None])]
    assert client.get(f"/r/{old}/safe").status_code == 200
    assert client.post(f"/r/{old}", data={"answer": "safe", "via": "link"}).status_code == 200
    assert [(r.channel, r.source_message) for r in responses(app)] == [("link", None)]
    assert [client.get(f"/r/{token}").status_code for token in odd] == [400, 400, 400, 400]


def test_a_household_where_a_companion_needs_help_comes_first(client, app, lisbon):
    incident_id, people = lisbon
    answer_page_post(client, app, incident_id, people["zoe"]["id"], "safe")
    login(client, "viewer@example.org")
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    ann_row, zoe_row = (page.index(f'data-traveller="{people[p]["id"]}"') for p in ("ann", "zoe"))
    assert ann_row < zoe_row  # nobody needs help: no answer first, then by name
    client.post(f"/api/v1/incidents/{incident_id}/responses", headers=api_headers(app),
                json={"traveller_id": people["zoe"]["id"], "companion_id": people["zoe"]["Paul"],
                      "status": "need_help"})
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    ann_row, zoe_row = (page.index(f'data-traveller="{people[p]["id"]}"') for p in ("ann", "zoe"))
    assert zoe_row < ann_row


def test_the_export_gives_each_companions_answer(client, app, lisbon):
    incident_id, people = lisbon
    sms_reply(client, "2", LEA)
    answer_page_post(client, app, incident_id, people["ann"]["id"], "safe")
    export = client.get(f"/api/v1/incidents/{incident_id}/export?format=csv&fields=given_name,answer,companion_answers",
                        headers=api_headers(app))
    assert export.status_code == 200
    lines = export.get_data(as_text=True).splitlines()
    assert lines[0] == "given_name,answer,companion_answers"
    assert sorted(lines[1:]) == ["Ann,safe,Léa Roy: need_help; Max Roy: safe", "Zoé,no_answer,Paul Roy: no_answer"]
