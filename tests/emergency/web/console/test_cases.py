"""The console's cases: a queue of people waiting for help, the longest wait first, filtered by
incident, status and officer, a page at a time; each case's page shows how to reach the
person and where they were, and lets coordinators (not viewers) act on it, in English or
French."""
from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from emergency.core.models import AuditEntry, Case, User


def text_of(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


@pytest.fixture
def waiting(app, make_traveller, make_incident):
    """Three people who asked for help: Ann (Floods, waiting 3 h), Bea (Floods, 1 h) and Cy
    (Fire, 2 h). Returns their case ids by name and the incidents' ids."""
    from emergency.core.database import db_session
    from emergency.services.responses import record_response

    floods, fire = make_incident("Floods"), make_incident("Fire", lat=38.7, lon=-9.1)
    people = {"Ann": (floods, 3), "Bea": (floods, 1), "Cy": (fire, 2)}
    ids = {}
    with app.test_request_context():
        for name, (incident, hours) in people.items():
            traveller = make_traveller(name, email=f"{name.lower()}@example.org", phone=None)
            record_response(incident, traveller, "need_help", "sms", message=f"{name} needs help")
            case = db_session().scalar(select(Case).where(Case.traveller_id == traveller))
            case.opened_at = case.waiting_since = case.opened_at - timedelta(hours=hours)
            ids[name] = case.id
        db_session().commit()
    return ids, {"floods": floods, "fire": fire}


def queue_names(response) -> list[str]:
    """The given names in the queue, in order."""
    assert response.status_code == 200, response.status_code
    return re.findall(r'<a href="/cases/\d+">[^,<]+, (\w+)</a>', response.get_data(as_text=True))


def user_id(app, email: str) -> int:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(User.id).where(User.email == email))


def case_row(app, case_id: int) -> Case:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().get(Case, case_id)


def set_status(app, case_id: int, status: str) -> None:
    from emergency.core.database import db_session
    from emergency.services import cases

    with app.test_request_context():
        case = db_session().get(Case, case_id)
        cases.set_status(case, status, None)


def test_the_queue_shows_the_longest_wait_first(login_as, waiting):
    client = login_as("viewer@example.org")
    assert queue_names(client.get("/cases")) == ["Ann", "Cy", "Bea"]


def test_the_queue_shows_open_cases_by_default_and_settled_ones_last_when_asked(app, login_as, waiting):
    ids, _incidents = waiting
    set_status(app, ids["Ann"], "resolved")
    client = login_as("viewer@example.org")
    assert queue_names(client.get("/cases")) == ["Cy", "Bea"]
    assert queue_names(client.get("/cases?status=all")) == ["Cy", "Bea", "Ann"]
    assert queue_names(client.get("/cases?status=resolved")) == ["Ann"]


def test_the_queue_filters_by_incident(login_as, waiting):
    _ids, incidents = waiting
    client = login_as("viewer@example.org")
    assert queue_names(client.get(f"/cases?incident={incidents['floods']}")) == ["Ann", "Bea"]
    assert queue_names(client.get(f"/cases?incident={incidents['fire']}")) == ["Cy"]


def test_the_queue_filters_by_officer_and_by_nobody_yet(app, login_as, waiting):
    ids, _incidents = waiting
    client = login_as("coordinator@example.org")
    colin = user_id(app, "coordinator2@example.org")
    client.post(f"/cases/{ids['Bea']}/assign", data={"assign-assignee": str(colin)})
    assert queue_names(client.get(f"/cases?assignee={colin}")) == ["Bea"]
    assert queue_names(client.get("/cases?assignee=none")) == ["Ann", "Cy"]


def test_the_queue_is_paged_and_keeps_its_filters_across_pages(login_as, waiting):
    _ids, incidents = waiting
    client = login_as("viewer@example.org")
    first = client.get(f"/cases?incident={incidents['floods']}&per_page=1")
    assert queue_names(first) == ["Ann"]
    next_url = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1)
    next_url = htmllib.unescape(next_url)
    assert f"incident={incidents['floods']}" in next_url
    assert queue_names(client.get(next_url + "&per_page=1")) == ["Bea"]


@pytest.mark.parametrize("query", ["status=urgent", "incident=abc", "page=0", "assignee=someone"])
def test_a_wrong_filter_says_what_is_wrong(login_as, waiting, query):
    client = login_as("viewer@example.org")
    response = client.get(f"/cases?{query}")
    assert response.status_code == 400
    assert 'id="filter-error"' in response.get_data(as_text=True)


def test_the_nav_shows_how_many_cases_are_open(app, login_as, waiting):
    ids, _incidents = waiting
    client = login_as("viewer@example.org")
    nav = re.search(r'<a href="/cases" id="nav-cases".*?</a>', client.get("/").get_data(as_text=True), re.S).group(0)
    assert '<span class="nav-count">3' in nav
    set_status(app, ids["Ann"], "closed")
    nav = re.search(r'<a href="/cases" id="nav-cases".*?</a>', client.get("/").get_data(as_text=True), re.S).group(0)
    assert '<span class="nav-count">2' in nav


def test_the_case_page_shows_how_to_reach_the_person_where_they_were_and_their_call(app, login_as, make_traveller,
                                                                                     make_incident):
    from emergency.core.database import db_session
    from emergency.services.responses import record_response

    incident = make_incident("Floods")
    client = login_as("coordinator@example.org")  # viewers see no contact details (test_least_privilege)
    response = client.post("/api/v1/travellers", headers={"Authorization": "Bearer " + app.config[
        "TEST_API_TOKENS"]["coordinator@example.org"]}, json={
        "given_name": "Ann", "family_name": "Roy", "email": "ann@example.org", "phone": "+351912345678",
        "language": "en", "stops": [{"country": "PT", "place": "Lisbon", "arrival": "2020-01-01",
                                     "address": "Hotel Avenida"}],
        "companions": [{"given_name": "Tim", "family_name": "Roy", "age_band": "5-11"}],
        "emergency_contacts": [{"name": "Mary Roy", "relationship": "mother", "phone": "+14165550123"}]})
    assert response.status_code == 201, response.get_json()
    with app.test_request_context():
        record_response(incident, response.get_json()["id"], "need_help", "sms", message="Water in the lobby")
        case_id = db_session().scalar(select(Case.id))
    page = text_of(client.get(f"/cases/{case_id}"))
    for expected in ("Ann Roy", "+351912345678", "ann@example.org", "Lisbon", "Hotel Avenida", "Tim Roy",
                     "Mary Roy (mother)", "+14165550123", "Water in the lobby", "Floods",
                     "Asked for help by text message: case opened."):
        assert expected in page, expected
    assert re.search(r'id="case-opened">[^<]*\(less than a minute ago\)', page)


def test_opening_a_case_page_is_logged_as_a_view_of_the_travellers_record(app, login_as, waiting):
    from emergency.core.database import db_session

    ids, _incidents = waiting
    client = login_as("viewer@example.org")
    client.get(f"/cases/{ids['Ann']}")
    case = case_row(app, ids["Ann"])
    with app.app_context():
        entry = db_session().scalar(select(AuditEntry).where(AuditEntry.action == "traveller.viewed"))
    assert (entry.actor, entry.object_id, entry.details["case_id"]) == (
        "viewer@example.org", str(case.traveller_id), case.id)


def test_a_viewer_reads_a_case_but_sees_no_forms_and_cannot_act(app, login_as, waiting):
    ids, _incidents = waiting
    client = login_as("viewer@example.org")
    page = client.get(f"/cases/{ids['Ann']}").get_data(as_text=True)
    assert 'id="case-history"' in page and 'id="case-actions"' not in page
    for action, data in [("status", {"status-status": "in_progress"}), ("note", {"note-note": "hi"}),
                         ("assign", {"assign-assignee": ""}), ("answer", {"answer-status": "safe"})]:
        assert client.post(f"/cases/{ids['Ann']}/{action}", data=data).status_code == 403
    assert case_row(app, ids["Ann"]).status == "new"


def test_someone_signed_out_is_sent_to_sign_in(client, waiting):
    ids, _incidents = waiting
    for path in ("/cases", f"/cases/{ids['Ann']}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(f"/cases/{ids['Ann']}/note", data={"note-note": "x"}).status_code == 302


def test_a_coordinator_works_a_case_from_its_page(app, login_as, waiting):
    ids, _incidents = waiting
    client = login_as("coordinator@example.org")
    me = user_id(app, "coordinator@example.org")
    url = f"/cases/{ids['Ann']}"
    steps = [("assign", {"assign-assignee": str(me)}, "Officer changed."),
             ("priority", {"priority-priority": "urgent"}, "Priority changed."),
             ("status", {"status-status": "in_progress"}, "Status changed."),
             ("contact", {"contact-method": "phone", "contact-outcome": "no_answer"}, "Contact attempt recorded."),
             ("answer", {"answer-status": "safe", "answer-message": "At a shelter"}, "Answer recorded."),
             ("note", {"note-note": "Shelter confirmed by the mayor's office."}, "Note added."),
             ("status", {"status-status": "resolved"}, "Status changed.")]
    for action, data, flash in steps:
        page = text_of(client.post(f"{url}/{action}", data=data, follow_redirects=True))
        assert flash in page, action
    case = case_row(app, ids["Ann"])
    assert (case.status, case.priority, case.assignee_id) == ("resolved", "urgent", me)
    history = page[page.index('id="case-history"'):]
    for line in ("Assigned to Cora Coordinator.", "Priority: Urgent.", "Status: New → In progress.",
                 "Phone call: No answer.", "Answer taken by phone: Safe.", "At a shelter",
                 "Shelter confirmed by the mayor's office.", "Status: In progress → Resolved."):
        assert line in history, line


def test_a_refused_transition_or_an_empty_note_is_explained_and_changes_nothing(app, login_as, waiting):
    ids, _incidents = waiting
    client = login_as("coordinator@example.org")
    url = f"/cases/{ids['Ann']}"
    client.post(f"{url}/status", data={"status-status": "closed"})
    page = text_of(client.post(f"{url}/status", data={"status-status": "resolved"}, follow_redirects=True))
    assert "A closed case can only be reopened (“in progress”)." in page
    page = text_of(client.post(f"{url}/note", data={"note-note": ""}, follow_redirects=True))
    assert 'class="flash flash-error"' in page
    page = text_of(client.post(f"{url}/assign", data={"assign-assignee": str(user_id(app, "viewer@example.org"))},
                               follow_redirects=True))
    assert 'class="flash flash-error"' in page
    case = case_row(app, ids["Ann"])
    assert (case.status, case.assignee_id) == ("closed", None)
    assert client.post(f"{url}/explode", data={}).status_code == 404


def test_a_closed_case_is_reopened_from_its_page_and_waits_again(app, login_as, waiting):
    ids, _incidents = waiting
    client = login_as("coordinator@example.org")
    url = f"/cases/{ids['Ann']}"
    client.post(f"{url}/status", data={"status-status": "closed"})
    assert queue_names(client.get("/cases")) == ["Cy", "Bea"]
    page = text_of(client.post(f"{url}/status", data={"status-status": "in_progress"}, follow_redirects=True))
    assert "Case reopened (Closed → In progress)." in page
    assert queue_names(client.get("/cases")) == ["Cy", "Bea", "Ann"]  # its wait starts again


def test_the_case_page_and_queue_are_in_french(app, login_as, waiting):
    ids, _incidents = waiting
    client = login_as("coordinator@example.org")
    client.post(f"/cases/{ids['Ann']}/status", data={"status-status": "in_progress"})
    page = text_of(client.get(f"/cases/{ids['Ann']}?lang=fr"))
    assert '<html lang="fr">' in page
    for french in ("Comment les joindre", "Dernier lieu connu", "Personnes à joindre en cas d'urgence", "Historique",
                   "Agir sur ce dossier", "État\u00a0: Nouveau → En cours.", "Demande d'aide par texto\u00a0: dossier ouvert."):
        assert french in page, french
    queue = text_of(client.get("/cases?lang=fr"))
    assert "Dossiers" in queue and "Attente" in queue and "En cours" in queue
    assert "Waiting" not in queue
