"""The JSON API: tokens and roles, clear errors that change nothing, and the approval rule."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from emergency.core.models import Alert, AuditEntry, Incident
from registry.models import Traveller
from tests.conftest import api_headers, stop

TODAY = date.today()
IN_LISBON = [stop("PT", lat=38.7, lon=-9.1, days_before=0)]
SQUARE = {"type": "Polygon", "coordinates": [[[-10, 38], [-8, 38], [-8, 40], [-10, 40], [-10, 38]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[-10, 38], [-8, 40], [-8, 38], [-10, 40], [-10, 38]]]}


@pytest.fixture
def app_overrides():
    return {"APPROVAL_THRESHOLD": 1}


def rows(app, model):
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().scalar(select(func.count()).select_from(model))


def test_requests_without_a_valid_token_are_refused(client):
    assert client.get("/api/v1/incidents").status_code == 401
    wrong = client.get("/api/v1/incidents", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "unauthorized"


def test_a_viewer_cannot_open_an_incident(client, app):
    response = client.post("/api/v1/incidents", headers=api_headers(app, "viewer@example.org"),
                           json={"title": "x", "zone": SQUARE})
    assert response.status_code == 403
    assert rows(app, Incident) == 0


def test_a_body_that_is_not_json_is_a_clear_400(client, app):
    response = client.post("/api/v1/incidents", headers={**api_headers(app), "Content-Type": "application/json"},
                           data="{not json")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"


@pytest.mark.parametrize("zone", [
    {"type": "Point", "coordinates": [0, 0]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [0, 95], [1, 1], [0, 0]]]},
    "not geojson at all",
    {"circle": {"lat": 10, "lon": 10, "radius_km": -5}},
    {"circle": {"lat": "north", "lon": 10, "radius_km": 5}},
    None,
])
def test_a_bad_zone_is_refused_and_nothing_is_created(client, app, zone):
    response = client.post("/api/v1/incidents", headers=api_headers(app), json={"title": "Bad", "zone": zone})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["message"]
    assert rows(app, Incident) == 0


def test_errors_come_in_french_when_asked(client, app):
    response = client.post("/api/v1/incidents", headers={**api_headers(app), "Accept-Language": "fr"},
                           json={"title": "Mauvais", "zone": {"type": "Point", "coordinates": [0, 0]}})
    assert response.status_code == 422
    english = client.post("/api/v1/incidents", headers=api_headers(app),
                          json={"title": "Bad", "zone": {"type": "Point", "coordinates": [0, 0]}})
    assert response.get_json()["message"] != english.get_json()["message"]


def test_a_self_intersecting_zone_is_repaired_and_says_so(client, app):
    response = client.post("/api/v1/incidents", headers=api_headers(app), json={"title": "Bowtie", "zone": BOWTIE})
    assert response.status_code == 201
    assert "repaired" in response.get_json()["zone_note"]


def test_a_window_ending_before_it_starts_is_refused(client, app):
    response = client.post("/api/v1/incidents", headers=api_headers(app), json={
        "title": "Backwards", "zone": SQUARE, "starts_at": "2026-05-02T00:00:00Z", "ends_at": "2026-05-01T00:00:00Z"})
    assert response.status_code == 422 and "ends_at" in response.get_json()["fields"]
    assert rows(app, Incident) == 0


@pytest.mark.parametrize("field,value", [
    ("email", "not-an-email"), ("phone", "12345"), ("language", "de"),
])
def test_bad_traveller_fields_are_named_and_nothing_is_saved(client, app, field, value):
    body = {"given_name": "Ann", "family_name": "Lee", "email": "ann@example.org", "phone": "+351912345678",
            "language": "en", "stops": [{"country": "PT", "arrival": TODAY.isoformat()}]}
    body[field] = value
    response = client.post("/api/v1/travellers", headers=api_headers(app), json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert rows(app, Traveller) == 0


def test_unknown_country_and_backwards_stop_are_named(client, app):
    response = client.post("/api/v1/travellers", headers=api_headers(app), json={
        "given_name": "Ann", "family_name": "Lee", "email": "ann@example.org", "phone": "+351912345678",
        "language": "en", "stops": [
            {"country": "XX", "arrival": TODAY.isoformat()},
            {"country": "PT", "arrival": TODAY.isoformat(), "departure": (TODAY - timedelta(days=1)).isoformat()}]})
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert "stops-0-country" in fields and "stops-1-departure" in fields


def test_a_mass_send_needs_a_second_person(client, app, make_traveller):
    make_traveller("Ann", family_name="Lee", email="a@example.org", phone="+351912345678", stops=IN_LISBON)
    make_traveller("Ann", family_name="Lee", email="b@example.org", phone="+351912345679", stops=IN_LISBON)
    coordinator = api_headers(app, "coordinator@example.org")
    incident = client.post("/api/v1/incidents", headers=coordinator, json={"title": "Fire", "zone": SQUARE}).get_json()
    alert = client.post(f"/api/v1/incidents/{incident['id']}/alerts", headers=coordinator, json={}).get_json()
    assert alert["needs_approval"] is True

    refused = client.post(f"/api/v1/alerts/{alert['id']}/send", headers=coordinator)
    assert refused.status_code == 409 and "approval" in refused.get_json()["message"]
    # A coordinator cannot approve at all; an approver can, unless they wrote it.
    assert client.post(f"/api/v1/alerts/{alert['id']}/approve", headers=coordinator).status_code == 403
    approved = client.post(f"/api/v1/alerts/{alert['id']}/approve", headers=api_headers(app, "approver@example.org"))
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    sent = client.post(f"/api/v1/alerts/{alert['id']}/send", headers=coordinator)
    assert sent.status_code == 202
    again = client.post(f"/api/v1/alerts/{alert['id']}/send", headers=coordinator)
    assert again.status_code == 409

    with app.app_context():
        from emergency.core.database import db_session

        actions = set(db_session().scalars(select(AuditEntry.action)))
    assert {"incident.created", "alert.composed", "alert.approved", "alert.sent"} <= actions


def test_an_approver_cannot_approve_their_own_alert(client, app, make_traveller):
    make_traveller("Ann", family_name="Lee", email="a@example.org", phone="+351912345678", stops=IN_LISBON)
    make_traveller("Ann", family_name="Lee", email="b@example.org", phone="+351912345679", stops=IN_LISBON)
    approver = api_headers(app, "approver@example.org")
    incident = client.post("/api/v1/incidents", headers=approver, json={"title": "Fire", "zone": SQUARE}).get_json()
    alert = client.post(f"/api/v1/incidents/{incident['id']}/alerts", headers=approver, json={}).get_json()
    response = client.post(f"/api/v1/alerts/{alert['id']}/approve", headers=approver)
    assert response.status_code == 409 and "second person" in response.get_json()["message"]
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().get(Alert, alert["id"]).status == "draft"


def test_an_alert_with_an_empty_french_text_is_refused(client, app):
    incident = client.post("/api/v1/incidents", headers=api_headers(app), json={"title": "Fire", "zone": SQUARE}).get_json()
    response = client.post(f"/api/v1/incidents/{incident['id']}/alerts", headers=api_headers(app),
                           json={"sms_fr": "   "})
    assert response.status_code == 422 and "sms_fr" in response.get_json()["fields"]
    assert rows(app, Alert) == 0


def test_the_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/incidents/{id}/affected" in spec["paths"]
