"""Cases over the API: viewers list and read them, coordinators change status, officer and
priority (all or nothing) and add notes; wrong values are refused in the API's one error
shape; partners' tokens never reach them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from emergency.core.models import AuditEntry, Case, CaseEvent, User
from tests.conftest import api_headers


@pytest.fixture
def partner_token(app):
    from emergency.core.auth import create_user, issue_api_token
    from emergency.core.database import db_session
    from registry.models import Partner

    with app.app_context():
        partner = Partner(name="Tours Inc")
        db_session().add(partner)
        db_session().flush()
        user = create_user("partner@example.org", "Tours Inc", "partner")
        user.partner_id = partner.id
        token = issue_api_token(user)
        db_session().commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def two_cases(app, make_traveller, make_incident):
    """Ann (waiting 2 h) and Bea (waiting 1 h) asked for help in the Floods: their case ids
    and the incident's id."""
    from emergency.core.database import db_session
    from emergency.services.responses import record_response

    incident = make_incident("Floods")
    ids = {}
    with app.test_request_context():
        for name, hours in (("Ann", 2), ("Bea", 1)):
            traveller = make_traveller(name, email=f"{name.lower()}@example.org", phone=None)
            record_response(incident, traveller, "need_help", "link", message=f"{name}: roof gone")
            case = db_session().scalar(select(Case).where(Case.traveller_id == traveller))
            case.opened_at = case.waiting_since = case.opened_at - timedelta(hours=hours)
            ids[name] = case.id
        db_session().commit()
    return ids, incident


def user_id(app, email):
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(User.id).where(User.email == email))


def event_count(app) -> int:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(CaseEvent))


def test_a_viewer_lists_the_open_cases_longest_wait_first(app, client, two_cases):
    ids, incident = two_cases
    body = client.get("/api/v1/cases", headers=api_headers(app, "viewer@example.org")).get_json()
    assert (body["total"], body["page"], body["per_page"]) == (2, 1, 50)
    assert [c["id"] for c in body["cases"]] == [ids["Ann"], ids["Bea"]]
    first = body["cases"][0]
    assert (first["incident_id"], first["status"], first["priority"], first["assignee_id"], first["source"]) == (
        incident, "new", "normal", None, "link")
    assert 2 * 3600 - 60 <= first["waiting_seconds"] <= 2 * 3600 + 60


def test_the_list_filters_by_status_officer_and_incident_and_pages(app, client, two_cases, make_incident):
    ids, incident = two_cases
    headers = api_headers(app)
    me = user_id(app, "coordinator@example.org")
    client.patch(f"/api/v1/cases/{ids['Bea']}", headers=headers, json={"assignee_id": me, "status": "resolved"})

    def listed(query):
        response = client.get(f"/api/v1/cases?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["cases"]]

    assert listed("") == [ids["Ann"]]
    assert listed("status=resolved") == [ids["Bea"]]
    assert listed("status=all") == [ids["Ann"], ids["Bea"]]
    assert listed(f"status=all&assignee={me}") == [ids["Bea"]]
    assert listed("status=all&assignee=none") == [ids["Ann"]]
    assert listed(f"status=all&incident={incident}&per_page=1&page=2") == [ids["Bea"]]
    assert listed(f"incident={make_incident('Fire')}") == []


@pytest.mark.parametrize("query, code", [("status=pending", "invalid_query"), ("incident=x", "invalid_query"),
                                         ("page=0", "invalid_page"), ("per_page=1000", "invalid_page")])
def test_a_wrong_filter_is_a_400_naming_it(app, client, two_cases, query, code):
    response = client.get(f"/api/v1/cases?{query}", headers=api_headers(app))
    assert response.status_code == 400
    assert response.get_json()["error"] == code and response.get_json()["fields"]


def test_one_case_carries_the_traveller_where_they_were_and_the_history(app, client, two_cases):
    ids, _incident = two_cases
    body = client.get(f"/api/v1/cases/{ids['Ann']}", headers=api_headers(app, "coordinator@example.org")).get_json()
    assert body["traveller"]["email"] == "ann@example.org"
    assert body["latest_stop"]["country"] == "PT" and body["latest_stop"]["place"] == "Lisbon"
    assert body["latest_answer"]["status"] == "need_help"
    assert [(e["kind"], e["source"], e["answer"]["message"]) for e in body["events"]] == [
        ("opened", "link", "Ann: roof gone")]


def test_reading_a_case_is_logged_as_a_view_of_the_travellers_record(app, client, two_cases):
    from emergency.core.database import db_session

    ids, _incident = two_cases
    client.get(f"/api/v1/cases/{ids['Ann']}", headers=api_headers(app, "viewer@example.org"))
    with app.app_context():
        entry = db_session().scalar(select(AuditEntry).where(AuditEntry.action == "traveller.viewed"))
    assert entry.actor == "api:viewer@example.org" and entry.details["case_id"] == ids["Ann"]


def test_a_coordinator_changes_status_officer_and_priority_in_one_patch(app, client, two_cases):
    ids, _incident = two_cases
    colin = user_id(app, "coordinator2@example.org")
    response = client.patch(f"/api/v1/cases/{ids['Ann']}", headers=api_headers(app),
                            json={"status": "in_progress", "assignee_id": colin, "priority": "high"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["assignee_id"], body["priority"]) == ("in_progress", colin, "high")
    assert [e["kind"] for e in body["events"]] == ["status", "priority", "assigned", "opened"]
    assert all(e["user_id"] == user_id(app, "coordinator@example.org") for e in body["events"][:3])


def test_a_settled_case_is_reopened_by_patch(app, client, two_cases):
    ids, _incident = two_cases
    headers = api_headers(app)
    client.patch(f"/api/v1/cases/{ids['Ann']}", headers=headers, json={"status": "closed"})
    body = client.patch(f"/api/v1/cases/{ids['Ann']}", headers=headers, json={"status": "in_progress"}).get_json()
    assert body["status"] == "in_progress" and body["events"][0]["kind"] == "reopened"
    assert body["waiting_seconds"] < 60 and body["closed_at"] is None


@pytest.mark.parametrize("body, status, field", [
    ({"status": "new"}, 409, "status"),
    ({"status": "done"}, 422, "status"),
    ({"priority": "critical"}, 422, "priority"),
    ({"assignee_id": "2"}, 422, "assignee_id"),
    ({"assignee_id": 9999}, 422, "assignee_id"),
    ({"status": "resolved", "priority": "critical"}, 422, "priority"),  # all or nothing
])
def test_a_refused_patch_changes_nothing_and_names_the_field(app, client, two_cases, body, status, field):
    ids, _incident = two_cases
    client.patch(f"/api/v1/cases/{ids['Ann']}", headers=api_headers(app), json={"status": "in_progress"})
    before = event_count(app)
    response = client.patch(f"/api/v1/cases/{ids['Ann']}", headers=api_headers(app), json=body)
    assert response.status_code == status
    assert field in response.get_json()["fields"]
    assert event_count(app) == before
    after = client.get(f"/api/v1/cases/{ids['Ann']}", headers=api_headers(app)).get_json()
    assert (after["status"], after["priority"]) == ("in_progress", "normal")


def test_a_patch_with_nothing_to_change_or_not_json_is_refused(app, client, two_cases):
    ids, _incident = two_cases
    url = f"/api/v1/cases/{ids['Ann']}"
    assert client.patch(url, headers=api_headers(app), json={"colour": "red"}).status_code == 422
    assert client.patch(url, headers=api_headers(app), data="status=closed").get_json()["error"] == "invalid_json"


def test_a_refusal_is_in_the_callers_language(app, client, two_cases):
    ids, _incident = two_cases
    client.patch(f"/api/v1/cases/{ids['Ann']}", headers=api_headers(app), json={"status": "in_progress"})
    response = client.patch(f"/api/v1/cases/{ids['Ann']}", json={"status": "new"},
                            headers={**api_headers(app), "Accept-Language": "fr"})
    assert response.status_code == 409
    assert response.get_json()["message"] == ("Un dossier ne peut pas revenir à «\u00a0Nouveau\u00a0»\u202f; "
                                              "rouvrez-le «\u00a0En cours\u00a0».")


def test_a_coordinator_adds_a_note_and_an_empty_one_is_refused(app, client, two_cases):
    ids, _incident = two_cases
    url = f"/api/v1/cases/{ids['Ann']}/notes"
    response = client.post(url, headers=api_headers(app), json={"text": "Called the hotel."})
    assert response.status_code == 201
    assert (response.get_json()["kind"], response.get_json()["note"]) == ("note", "Called the hotel.")
    for bad in ({"text": "   "}, {"text": 42}, {}):
        refused = client.post(url, headers=api_headers(app), json=bad)
        assert refused.status_code == 422 and "text" in refused.get_json()["fields"]


def test_a_viewer_reads_but_cannot_change_a_case(app, client, two_cases):
    ids, _incident = two_cases
    headers = api_headers(app, "viewer@example.org")
    assert client.get(f"/api/v1/cases/{ids['Ann']}", headers=headers).status_code == 200
    assert client.patch(f"/api/v1/cases/{ids['Ann']}", headers=headers, json={"status": "closed"}).status_code == 403
    assert client.post(f"/api/v1/cases/{ids['Ann']}/notes", headers=headers, json={"text": "x"}).status_code == 403


def test_a_partners_token_and_no_token_are_refused(app, client, two_cases, partner_token):
    ids, _incident = two_cases
    for path in ("/api/v1/cases", f"/api/v1/cases/{ids['Ann']}"):
        assert client.get(path, headers=partner_token).status_code == 403
        assert client.get(path).status_code == 401
    assert client.patch(f"/api/v1/cases/{ids['Ann']}", headers=partner_token,
                        json={"status": "closed"}).get_json()["error"] == "forbidden"


def test_an_unknown_case_is_404(app, client, two_cases):
    response = client.get("/api/v1/cases/9999", headers=api_headers(app))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
