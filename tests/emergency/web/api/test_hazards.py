"""Hazard events, trigger rules and feeds over /api/v1: viewers read, coordinators write
rules, administrators alone allow a rule to send or add a feed; refusals in the caller's
language, with the field to blame."""
from __future__ import annotations

import pytest

from emergency.core.models import AuditEntry, TriggerRule
from tests.conftest import api_headers
from tests.emergency.services.test_hazards import add_feed, apply, count, make_rule, quake

ADMIN = "admin@example.org"


def admin_headers(app) -> dict:
    from emergency.core.auth import create_user, issue_api_token
    from emergency.core.database import db_session

    with app.app_context():
        user = create_user(ADMIN, "Ad Min", "admin")
        token = issue_api_token(user)
        db_session().commit()
    return {"Authorization": f"Bearer {token}"}


def fr(headers: dict) -> dict:
    return {**headers, "Accept-Language": "fr"}


# --------------------------------------------------------------------------- events


@pytest.fixture
def events(app, make_traveller):
    """A USGS quake near Lisbon with three travellers and a draft rule, its GDACS duplicate, and
    a GDACS flood far away."""
    for name in ("Ana", "Rui", "Eva"):
        make_traveller(name, email=f"{name.lower()}@example.org")
    make_rule(app, action="draft")
    usgs = apply(app, quake("usgs", "us1"))
    gdacs = apply(app, quake("gdacs", "EQ99", magnitude=6.3, lat=38.9, minutes_ago=4))
    from hazards.events import HazardEvent

    flood = quake("gdacs", "FL7", magnitude=None, lat=-8.0, lon=115.0)
    flood.kind, flood.title = "flood", "Flood in Indonesia"
    other = apply(app, HazardEvent(**{**flood.__dict__}))
    return usgs, gdacs, other


def test_hazard_events_come_with_zone_headcount_incident_and_duplicates(app, client, events):
    usgs, gdacs, _flood = events
    body = client.get("/api/v1/hazard-events", headers=api_headers(app, "viewer@example.org")).get_json()
    assert body["total"] == 3 and body["page"] == 1
    first = next(e for e in body["events"] if e["id"] == usgs.hazard_id)
    assert first["headcount"] == 3 and first["duplicates"] == [gdacs.hazard_id] and first["merged_into_id"] is None
    assert first["zone"]["source"]["kind"] == "circle" and len(first["zone"]["bbox"]) == 4
    assert first["incident"]["id"] == usgs.incident_id and first["incident"]["url"] == f"/api/v1/incidents/{usgs.incident_id}"
    duplicate = next(e for e in body["events"] if e["id"] == gdacs.hazard_id)
    assert duplicate["merged_into_id"] == usgs.hazard_id and duplicate["incident"] is None


def test_hazard_events_filter_by_source_kind_and_status_and_page(app, client, events):
    headers = api_headers(app, "viewer@example.org")
    gdacs = client.get("/api/v1/hazard-events?source=gdacs", headers=headers).get_json()
    assert {e["source"] for e in gdacs["events"]} == {"gdacs"} and gdacs["total"] == 2
    floods = client.get("/api/v1/hazard-events?kind=flood&status=active", headers=headers).get_json()
    assert [e["title"] for e in floods["events"]] == ["Flood in Indonesia"]
    assert client.get("/api/v1/hazard-events?status=deleted", headers=headers).get_json()["total"] == 0
    page = client.get("/api/v1/hazard-events?per_page=2&page=2", headers=headers).get_json()
    assert page["total"] == 3 and len(page["events"]) == 1


def test_a_bad_filter_is_refused_in_the_callers_language(app, client):
    answer = client.get("/api/v1/hazard-events?kind=meteor", headers=fr(api_headers(app, "viewer@example.org")))
    assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_query"
    assert answer.get_json()["fields"]["kind"].startswith("kind doit être l’une des valeurs suivantes\u00a0: earthquake")
    assert client.get("/api/v1/hazard-events?per_page=500", headers=api_headers(app)).get_json()["error"] == "invalid_page"


def test_hazard_events_need_a_token(client):
    assert client.get("/api/v1/hazard-events").status_code == 401


# --------------------------------------------------------------------------- rules


RULE = {"name": "Strong quakes in Japan", "source": "usgs", "kinds": ["earthquake"], "min_magnitude": 6.5,
        "countries": ["jp"], "min_affected": 5, "action": "draft"}


def test_a_coordinator_creates_reads_and_patches_a_rule(app, client):
    created = client.post("/api/v1/trigger-rules", json=RULE, headers=api_headers(app))
    assert created.status_code == 201
    rule = created.get_json()
    assert rule["countries"] == ["JP"] and rule["enabled"] and not rule["auto_send_allowed"]
    assert created.headers["Location"] == f"/api/v1/trigger-rules/{rule['id']}"
    viewer = api_headers(app, "viewer@example.org")
    assert client.get(f"/api/v1/trigger-rules/{rule['id']}", headers=viewer).get_json() == rule
    assert [r["id"] for r in client.get("/api/v1/trigger-rules", headers=viewer).get_json()["rules"]] == [rule["id"]]
    patched = client.patch(f"/api/v1/trigger-rules/{rule['id']}", json={"min_affected": 1, "enabled": False},
                           headers=api_headers(app))
    assert patched.status_code == 200
    assert patched.get_json()["min_affected"] == 1 and patched.get_json()["enabled"] is False
    assert patched.get_json()["name"] == RULE["name"]  # what the patch left out stays
    assert count(app, AuditEntry, AuditEntry.action.in_(("trigger.rule_created", "trigger.rule_changed"))) == 2


def test_a_viewer_cannot_write_rules(app, client):
    viewer = api_headers(app, "viewer@example.org")
    assert client.post("/api/v1/trigger-rules", json=RULE, headers=viewer).status_code == 403
    rule_id = make_rule(app)
    assert client.patch(f"/api/v1/trigger-rules/{rule_id}", json={"enabled": False}, headers=viewer).status_code == 403


@pytest.mark.parametrize("change, field, english, french", [
    ({"name": ""}, "name", "A name is required.", "Un nom est requis."),
    ({"kinds": ["meteor"]}, "kinds", "Unknown kind of event.", "Type d’événement inconnu."),
    ({"min_magnitude": "big"}, "min_magnitude", "This must be a number.", "Ce doit être un nombre."),
    ({"countries": ["XX"]}, "countries", "Unknown country code: XX.", "Code de pays inconnu\u00a0: XX."),
    ({"action": "panic"}, "action", "Choose an action: notify, draft or send.",
     "Choisissez une action\u00a0: prévenir, préparer un brouillon ou envoyer."),
    ({"colour": "red"}, "colour", "Unknown field: colour.", "Champ inconnu\u00a0: colour."),
])
def test_an_invalid_rule_is_refused_in_english_and_french(app, client, change, field, english, french):
    for headers, message in ((api_headers(app), english), (fr(api_headers(app)), french)):
        answer = client.post("/api/v1/trigger-rules", json={**RULE, **change}, headers=headers)
        assert answer.status_code == 422
        assert answer.get_json() == {"error": "invalid", "message": message, "fields": {field: message}}
    assert count(app, TriggerRule) == 0


def test_an_empty_patch_and_an_unknown_rule_are_refused(app, client):
    rule_id = make_rule(app)
    answer = client.patch(f"/api/v1/trigger-rules/{rule_id}", json={}, headers=api_headers(app))
    assert answer.status_code == 422 and answer.get_json()["error"] == "invalid"
    assert client.get("/api/v1/trigger-rules/999", headers=api_headers(app)).status_code == 404
    assert client.patch("/api/v1/trigger-rules/999", json={"enabled": True}, headers=api_headers(app)).status_code == 404


def test_only_an_administrators_token_allows_a_rule_to_send(app, client):
    refused = client.post("/api/v1/trigger-rules", json={**RULE, "action": "send", "auto_send_allowed": True},
                          headers=fr(api_headers(app)))
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {
        "auto_send_allowed": "Seul un administrateur peut autoriser une règle à envoyer des alertes d’elle-même."}
    admin = admin_headers(app)
    rule = client.post("/api/v1/trigger-rules", json={**RULE, "action": "send", "auto_send_allowed": True},
                       headers=admin).get_json()
    assert rule["auto_send_allowed"] is True
    # a coordinator may not even turn the flag off by hand ...
    answer = client.patch(f"/api/v1/trigger-rules/{rule['id']}", json={"auto_send_allowed": False}, headers=api_headers(app))
    assert answer.status_code == 422 and "auto_send_allowed" in answer.get_json()["fields"]
    # ... but widening the rule withdraws the administrator's approval
    widened = client.patch(f"/api/v1/trigger-rules/{rule['id']}", json={"min_magnitude": 5}, headers=api_headers(app))
    assert widened.get_json()["auto_send_allowed"] is False


# --------------------------------------------------------------------------- feeds


def test_feeds_show_their_health_to_viewers(app, client):
    from emergency.core.database import db_session
    from emergency.core.models import Feed

    ok = add_feed(app, "https://example.org/ok.json")
    down = add_feed(app, "https://example.org/down.json", name="Down")
    with app.app_context():
        feed = db_session().get(Feed, down)
        feed.consecutive_failures, feed.last_error = 3, "HTTP 500"
        db_session().commit()
    body = client.get("/api/v1/feeds", headers=api_headers(app, "viewer@example.org")).get_json()
    health = {f["id"]: (f["health"], f["healthy"]) for f in body["feeds"]}
    assert health == {ok: ("not_polled", True), down: ("down", False)} and body["unhealthy_after"] == 3


def test_only_an_administrator_adds_a_feed(app, client):
    feed = {"name": "USGS significant", "kind": "usgs", "url": "https://example.org/significant_hour.geojson"}
    assert client.post("/api/v1/feeds", json=feed, headers=api_headers(app)).status_code == 403
    admin = admin_headers(app)
    added = client.post("/api/v1/feeds", json=feed, headers=admin)
    assert added.status_code == 201 and added.get_json()["health"] == "not_polled"
    again = client.post("/api/v1/feeds", json=feed, headers=fr(admin))
    assert again.status_code == 422 and again.get_json()["fields"] == {"url": "Ce flux est déjà dans la liste."}
    bad = client.post("/api/v1/feeds", json={**feed, "url": "ftp://example.org/x", "kind": "usgs"}, headers=admin)
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"url"}
    assert count(app, AuditEntry, AuditEntry.action == "trigger.feed_added") == 1
