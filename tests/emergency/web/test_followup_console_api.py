"""The follow-up panel and API: everyone signed in sees the plan, its rounds and the next
round; coordinators change the plan, pause, resume and send a round now; viewers cannot;
a bad value is refused in the reader's language and changes nothing; every action is audited."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import select

from emergency.core.models import Alert, AuditEntry, FollowupPlan
from tests.conftest import api_headers
from tests.emergency.followup_helpers import age, person, safety_check


@contextmanager
def session_of(app):
    """A session in a context of its own: an app context left open would be shared by the
    test client's requests, and its first request's language would stick."""
    with app.test_request_context():
        from emergency.core.database import db_session

        yield db_session()


@pytest.fixture
def incident(client, app, make_incident):
    """An incident in Lisbon whose safety check went to Ann (with a contact) and Bob."""
    with session_of(app) as db:
        person(db, "Ann", email="ann@example.org", phone="+351912345601",
               contact=("Mary Roy", "fr", "mary@example.org", None))
        person(db, "Bob", email="bob@example.org", consent=False)
    incident_id = make_incident()
    safety_check(client, app, incident_id)
    return incident_id


def plan(app, incident_id) -> tuple:
    with session_of(app) as db:
        row = db.scalar(select(FollowupPlan).where(FollowupPlan.incident_id == incident_id))
        return row.delay_minutes, row.max_rounds, row.tell_contacts, row.paused


def actions(app) -> list[str]:
    with session_of(app) as db:
        return [a for a in db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)) if a.startswith("followup.")]


def pass_time(app, minutes: int) -> None:
    with session_of(app) as db:
        age(db, minutes)


# --- API -------------------------------------------------------------------------------------

def test_the_api_shows_the_plan_the_next_round_and_who_has_no_contact(client, app, incident):
    body = client.get(f"/api/v1/incidents/{incident}/followup", headers=api_headers(app, "viewer@example.org"))
    assert body.status_code == 200
    data = body.get_json()
    assert data["plan"] == {"delay_minutes": 120, "max_rounds": 2, "tell_contacts": True, "paused": False,
                            "default": False, "updated_at": data["plan"]["updated_at"], "updated_by": None}
    assert data["state"] == "scheduled" and data["rounds"] == []
    assert (data["next"]["kind"], data["next"]["round"], data["next"]["size"], data["next"]["lead_channel"]) == \
        ("follow_up", 1, 2, "sms")
    assert data["contacts"] == {"contacts": 1, "no_contact": 1}


def test_the_api_changes_the_plan_all_or_nothing_and_refuses_bad_values_in_french(client, app, incident):
    headers = api_headers(app)
    ok = client.patch(f"/api/v1/incidents/{incident}/followup", headers=headers,
                      json={"delay_minutes": 30, "max_rounds": 1, "tell_contacts": False})
    assert ok.status_code == 200 and ok.get_json()["plan"]["delay_minutes"] == 30
    for body, field in (({"delay_minutes": 4}, "delay_minutes"), ({"delay_minutes": "soon"}, "delay_minutes"),
                        ({"delay_minutes": 60, "max_rounds": 6}, "max_rounds"),
                        ({"max_rounds": 1.5}, "max_rounds"), ({"paused": "maybe"}, "paused")):
        refused = client.patch(f"/api/v1/incidents/{incident}/followup", json=body,
                               headers={**headers, "Accept-Language": "fr"})
        assert refused.status_code == 422, body
        assert refused.get_json()["error"] == "invalid" and field in refused.get_json()["fields"]
    message = client.patch(f"/api/v1/incidents/{incident}/followup", json={"delay_minutes": 3000},
                           headers={**headers, "Accept-Language": "fr"}).get_json()["message"]
    assert message == "Le délai doit être un nombre entier de minutes de 5 à 2880."
    assert plan(app, incident)[:3] == (30, 1, False)
    assert actions(app) == ["followup.plan_updated"]


def test_a_viewer_may_read_but_not_steer_the_follow_up(client, app, incident):
    viewer = api_headers(app, "viewer@example.org")
    assert client.patch(f"/api/v1/incidents/{incident}/followup", headers=viewer,
                        json={"paused": True}).status_code == 403
    for action in ("pause", "resume", "rounds"):
        assert client.post(f"/api/v1/incidents/{incident}/followup/{action}", headers=viewer).status_code == 403


def test_pause_resume_and_send_now_over_the_api(client, app, incident):
    headers = api_headers(app)
    paused = client.post(f"/api/v1/incidents/{incident}/followup/pause", headers=headers).get_json()
    assert paused["plan"]["paused"] is True and paused["state"] == "paused"
    pass_time(app, 121)
    with session_of(app):
        from emergency.jobs.followup import tick

        assert tick(incident) is None  # paused: the due round waits
    sent = client.post(f"/api/v1/incidents/{incident}/followup/rounds", headers=headers)
    assert sent.status_code == 202
    alert = sent.get_json()
    assert (alert["kind"], alert["round"], alert["status"]) == ("follow_up", 1, "sent")
    listed = client.get(f"/api/v1/incidents/{incident}/alerts", headers=headers).get_json()
    assert [(a["kind"], a["round"]) for a in listed] == [("safety_check", None), ("follow_up", 1)]
    assert listed[1]["followup_of"] == listed[0]["id"]
    resumed = client.post(f"/api/v1/incidents/{incident}/followup/resume", headers=headers).get_json()
    assert resumed["plan"]["paused"] is False
    assert [r["round"] for r in resumed["rounds"]] == [1]  # the round sent now resets the wait
    assert actions(app)[:2] == ["followup.paused", "followup.round_created"]
    assert "followup.round_sent_now" in actions(app) and actions(app)[-1] == "followup.resumed"


def test_sending_a_round_now_is_refused_when_the_incident_is_closed(client, app, incident):
    headers = api_headers(app)
    client.post(f"/api/v1/incidents/{incident}/close", headers=headers)
    refused = client.post(f"/api/v1/incidents/{incident}/followup/rounds",
                          headers={**headers, "Accept-Language": "fr"})
    assert refused.status_code == 409
    assert refused.get_json()["message"] == "Cet incident est clos\u202f; aucun suivi n'est envoyé."


def test_a_round_sent_now_over_the_threshold_waits_for_a_second_person(client, app, incident):
    app.config["APPROVAL_THRESHOLD"] = 1
    headers = api_headers(app)
    created = client.post(f"/api/v1/incidents/{incident}/followup/rounds", headers=headers)
    assert created.status_code == 201
    alert = created.get_json()
    assert (alert["status"], alert["needs_approval"]) == ("draft", True)
    # the coordinator who asked for it cannot approve it; an approver can, then it is sent
    assert client.post(f"/api/v1/alerts/{alert['id']}/approve", headers=headers).status_code == 403
    approver = api_headers(app, "approver@example.org")
    assert client.post(f"/api/v1/alerts/{alert['id']}/approve", headers=approver).status_code == 200
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    with session_of(app) as db:
        assert db.get(Alert, alert["id"]).recipient_count == 2


# --- console ---------------------------------------------------------------------------------

def test_the_panel_shows_the_plan_and_next_round_in_french(client, app, login_as, incident):
    login_as("viewer@example.org")
    page = client.get(f"/incidents/{incident}?lang=fr").get_data(as_text=True)
    assert 'id="followup"' in page
    section = page[page.index('id="followup"'):page.index('id="messages-to-read"')]
    assert "relance 1, " in section and "2 personnes actuellement, Texto d'abord" in section
    assert "sans consentement ni personne à joindre" in section
    assert "Envoyer la prochaine relance maintenant" not in page  # a viewer has no buttons


def test_a_coordinator_changes_the_plan_and_a_bad_value_is_shown_on_the_form(client, app, login_as, incident):
    login_as("coordinator@example.org")
    bad = client.post(f"/incidents/{incident}/followup?lang=fr",
                      data={"delay_minutes": "2 heures", "max_rounds": "2", "tell_contacts": "y"})
    assert bad.status_code == 400
    assert "Le délai doit être un nombre entier de minutes de 5 à 2880." in bad.get_data(as_text=True)
    assert plan(app, incident)[0] == 120
    good = client.post(f"/incidents/{incident}/followup", data={"delay_minutes": "45", "max_rounds": "3"})
    assert good.status_code == 302
    assert plan(app, incident)[:3] == (45, 3, False)


def test_a_coordinator_pauses_sends_a_round_now_and_resumes_from_the_panel(client, app, login_as, incident):
    login_as("coordinator@example.org")
    client.post(f"/incidents/{incident}/followup/pause")
    assert plan(app, incident)[3] is True
    page = client.post(f"/incidents/{incident}/followup/rounds", follow_redirects=True).get_data(as_text=True)
    assert "Follow-up round sent" in page and "Round 1" in page
    client.post(f"/incidents/{incident}/followup/resume")
    assert plan(app, incident)[3] is False
    assert actions(app) == ["followup.paused", "followup.round_created", "followup.round_sent_now", "followup.resumed"]


def test_a_viewer_cannot_steer_the_follow_up_from_the_console(client, app, login_as, incident):
    login_as("viewer@example.org")
    for path in ("followup", "followup/pause", "followup/resume", "followup/rounds"):
        assert client.post(f"/incidents/{incident}/{path}", data={"delay_minutes": "10"}).status_code == 403
    assert plan(app, incident)[3] is False and actions(app) == []


# --- the contact's answer page ----------------------------------------------------------------

def test_a_contacts_link_answers_for_the_traveller_in_the_contacts_name_and_language(client, app, incident):
    from emergency.core.models import SafetyResponse
    from registry.models import EmergencyContact, Traveller

    with session_of(app) as db:
        ann = db.scalar(select(Traveller).where(Traveller.given_name == "Ann"))
        mary = db.scalar(select(EmergencyContact).where(EmergencyContact.traveller_id == ann.id))
        from emergency.services.safety_links import response_urls

        page_url = response_urls(incident, ann.id, contact_id=mary.id)["page_url"]
        ann_id = ann.id
    path = page_url.split("consular.test", 1)[1]
    page = client.get(path).get_data(as_text=True)
    assert "Avez-vous eu des nouvelles de Ann Roy\u202f?" in page and "Bonjour Mary Roy." in page
    done = client.post(path, data={"answer": "safe", "message": "She called me"}).get_data(as_text=True)
    assert "Merci. Nous avons noté que Ann Roy est en sécurité." in done
    with session_of(app) as db:
        (answer,) = db.scalars(select(SafetyResponse).where(SafetyResponse.traveller_id == ann_id)).all()
        assert (answer.status, answer.reported_by, answer.reporter_name, answer.channel) == \
            ("safe", "contact", "Mary Roy", "web")


def test_a_contacts_link_for_another_travellers_contact_is_refused(client, app, incident):
    from registry.models import EmergencyContact, Traveller

    with session_of(app) as db:
        bob = db.scalar(select(Traveller).where(Traveller.given_name == "Bob"))
        mary = db.scalar(select(EmergencyContact))
        from emergency.services.safety_links import response_urls

        path = response_urls(incident, bob.id, contact_id=mary.id)["page_url"].split("consular.test", 1)[1]
    assert client.get(path).status_code == 404
