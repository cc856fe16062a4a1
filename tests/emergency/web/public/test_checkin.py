"""Crisis-time sign-up: during an active incident, someone who never registered says where
they are and whether they are safe in under a minute, and their answer enters the incident's
safety check at once. A check-in that gives a registered person's email or phone is matched
with them but does not speak for them until the code sent to them is entered
(tests/emergency/web/public/test_checkin_verify.py)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from emergency.core.models import AuditEntry, CheckinReport, Incident, SafetyResponse
from registry.models import Stop, Traveller
from registry.service import StopInput, TravellerInput, register_traveller

ANSWER = {"given_name": "Léo", "family_name": "Martin", "email": "leo@example.org", "phone": "",
          "language": "fr", "answer": "safe", "message": "", "consent": "1"}


def make_incident(app, lat=48.8566, lon=2.3522, km=20, title="Floods in Paris") -> int:
    from emergency.core.database import db_session
    from emergency.services.incidents import create_incident
    from geo.zones import circle

    with app.test_request_context():
        incident = create_incident(title, circle(lat, lon, km), datetime.now(timezone.utc) - timedelta(hours=1), None)
        db_session().commit()
        return incident.id


def close(app, incident_id):
    from emergency.core.database import db_session

    with app.app_context():
        db_session().get(Incident, incident_id).status = "closed"
        db_session().commit()


def rows(app, model, *where):
    from emergency.core.database import db_session

    with app.app_context():
        return list(db_session().scalars(select(model).where(*where)))


def count(app, model) -> int:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(model))


def add_known(app, **kw) -> int:
    from emergency.core.database import db_session

    values = dict(given_name="Known", family_name="Person", email="known@example.org",
                  phone="+33 6 12 34 56 78", language="en",
                  stops=[StopInput(country="JP", arrival="2030-01-01")])
    values.update(kw)
    with app.app_context():
        t = register_traveller(db_session(), TravellerInput(**values))
        db_session().commit()
        return t.id


def test_now_lists_active_incidents_with_their_checkin_form_and_not_closed_ones(client, app):
    open_id = make_incident(app, title="Floods in Paris")
    closed_id = make_incident(app, title="Old fire")
    close(app, closed_id)
    page = client.get("/now").get_data(as_text=True)
    assert "Floods in Paris" in page and f"/incidents/{open_id}/checkin" in page
    assert "Old fire" not in page


def test_now_says_when_nothing_is_under_way(client):
    assert b"There is no emergency under way" in client.get("/now").data


def test_checkin_exists_only_while_the_incident_is_active(client, app):
    incident_id = make_incident(app)
    assert client.get(f"/incidents/{incident_id}/checkin").status_code == 200
    close(app, incident_id)
    assert client.get(f"/incidents/{incident_id}/checkin").status_code == 404
    assert client.post(f"/incidents/{incident_id}/checkin", data=ANSWER).status_code == 404
    assert client.get("/incidents/999/checkin").status_code == 404
    assert count(app, Traveller) == count(app, SafetyResponse) == 0


def test_a_newcomer_is_registered_in_the_zone_today_and_their_answer_counts_at_once(client, app):
    incident_id = make_incident(app)
    response = client.post(f"/incidents/{incident_id}/checkin", data={**ANSWER, "answer": "help",
                                                                       "message": "Ground floor flooded"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index("Merci, votre réponse est enregistrée") < page.index("Thank you, your answer is recorded")
    (t,) = rows(app, Traveller)
    assert (t.source, t.email, t.language, t.given_name) == ("checkin", "leo@example.org", "fr", "Léo")
    assert t.consent_at is not None
    (stop,) = rows(app, Stop)
    today = datetime.now(timezone.utc).date()
    # No location was given: known by country only, never an invented point at the zone's centre.
    assert (stop.country, stop.precision, stop.lat, stop.lon) == ("FR", "country", None, None)
    assert stop.arrival == today and stop.departure > today
    (answer,) = rows(app, SafetyResponse)
    assert (answer.incident_id, answer.traveller_id, answer.status, answer.channel, answer.message) == (
        incident_id, t.id, "need_help", "web", "Ground floor flooded")


def test_the_newcomer_is_among_the_affected_travellers_of_the_incident(client, app):
    from emergency.services.incidents import affected_for

    incident_id = make_incident(app)
    client.post(f"/incidents/{incident_id}/checkin", data=ANSWER)
    (t,) = rows(app, Traveller)
    from emergency.core.database import db_session

    with app.app_context():
        affected = affected_for(db_session().get(Incident, incident_id))
        assert t.id in {a.traveller_id for a in affected}


def test_a_newcomer_without_a_location_is_not_pinned_inside_a_later_zone_at_the_same_spot(client, app):
    from emergency.core.database import db_session
    from emergency.services.incidents import affected_for

    client.post(f"/incidents/{make_incident(app)}/checkin", data=ANSWER)
    later = make_incident(app, km=1, title="Fire near the first zone's centre")
    with app.app_context():
        (row,) = affected_for(db_session().get(Incident, later))
        assert (row.located_by, row.precision, row.distance_km) == ("country", "country", None)


def test_a_known_phone_written_another_way_is_matched_not_duplicated(client, app):
    known = add_known(app)
    incident_id = make_incident(app)
    client.post(f"/incidents/{incident_id}/checkin",
                data={**ANSWER, "email": "", "phone": "0033 6-12-34-56-78", "given_name": "Other"})
    assert count(app, Traveller) == 1
    (report,) = rows(app, CheckinReport)
    assert report.traveller_id == known and report.matched
    (t,) = rows(app, Traveller)
    assert t.given_name == "Known"  # a check-in never rewrites a registered person's details
    assert {s.country for s in rows(app, Stop)} == {"JP"}
    assert count(app, SafetyResponse) == 0  # not their answer until the code is entered


def test_a_known_email_in_another_case_is_matched(client, app):
    known = add_known(app, phone=None)
    incident_id = make_incident(app)
    client.post(f"/incidents/{incident_id}/checkin", data={**ANSWER, "email": "KNOWN@Example.org"})
    assert count(app, Traveller) == 1
    assert [r.traveller_id for r in rows(app, CheckinReport)] == [known]


def test_checking_in_twice_adds_no_second_stop_or_traveller_and_the_second_waits_for_its_code(client, app):
    incident_id = make_incident(app)
    client.post(f"/incidents/{incident_id}/checkin", data=ANSWER)
    client.post(f"/incidents/{incident_id}/checkin", data={**ANSWER, "answer": "help"})
    assert count(app, Traveller) == 1 and count(app, Stop) == 1
    # The second check-in gives an email that is now registered: anyone could have sent it.
    assert [r.status for r in rows(app, SafetyResponse)] == ["safe"]
    assert [(r.answer, r.matched) for r in rows(app, CheckinReport, CheckinReport.matched.is_(True))] == [
        ("need_help", True)]


def without_token(page: bytes) -> bytes:
    return re.sub(rb"/checkin/[A-Za-z0-9_.-]+", b"/checkin/TOKEN", page)


def test_matched_and_new_people_see_the_same_page(client, app):
    add_known(app)
    incident_id = make_incident(app)
    matched = client.post(f"/incidents/{incident_id}/checkin", data={**ANSWER, "email": "known@example.org"})
    new = client.post(f"/incidents/{incident_id}/checkin", data=ANSWER)
    assert matched.status_code == new.status_code == 200
    assert without_token(matched.get_data()) == without_token(new.get_data())


@pytest.mark.parametrize("changes, fields", [
    ({"answer": ""}, {"answer"}),
    ({"answer": "maybe"}, {"answer"}),
    ({"email": "", "phone": ""}, {"email"}),
    ({"email": "", "phone": "06 12 34 56 78"}, {"phone"}),
    ({"email": "leo@"}, {"email"}),
    ({"given_name": " ", "family_name": ""}, {"given_name", "family_name"}),
    ({"language": "de"}, {"language"}),
    ({"consent": ""}, {"consent"}),
    ({"message": "x" * 2001}, {"message"}),
])
def test_wrong_input_is_shown_next_to_its_field_and_records_nothing(client, app, changes, fields):
    incident_id = make_incident(app)
    response = client.post(f"/incidents/{incident_id}/checkin?lang=en", data={**ANSWER, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in fields:
        assert f'id="{field}-error"' in page, field
    assert count(app, Traveller) == count(app, SafetyResponse) == 0


def test_a_zone_at_sea_still_records_the_answer_without_inventing_a_country(client, app):
    incident_id = make_incident(app, lat=30.0, lon=-40.0, km=50)
    assert client.post(f"/incidents/{incident_id}/checkin", data=ANSWER).status_code == 200
    assert count(app, Traveller) == 1 and count(app, Stop) == 0 and count(app, SafetyResponse) == 1


def test_the_audit_log_holds_no_personal_data(client, app):
    incident_id = make_incident(app)
    client.post(f"/incidents/{incident_id}/checkin", data={**ANSWER, "phone": "+33 6 12 34 56 78",
                                                           "message": "secret words"})
    entries = rows(app, AuditEntry, AuditEntry.action.in_(("traveller.checked_in", "safety.response")))
    assert {e.action for e in entries} == {"traveller.checked_in", "safety.response"}
    text = " ".join(f"{e.actor} {e.details}" for e in entries).lower()
    for secret in ("léo", "martin", "leo@example.org", "+336", "secret"):
        assert secret not in text


def test_the_answer_shows_in_the_incident_responses_api(client, app):
    from tests.conftest import api_headers

    incident_id = make_incident(app)
    client.post(f"/incidents/{incident_id}/checkin", data=ANSWER)
    body = client.get(f"/api/v1/incidents/{incident_id}/responses", headers=api_headers(app)).get_json()
    assert [(r["status"], r["channel"]) for r in body] == [("safe", "web")]
