"""The coordinator console through the browser's eyes: log-in, zones, preview, alerts, outbox."""
from __future__ import annotations

import gzip
import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from emergency.core.models import Alert, Incident, SafetyResponse
from notify.models import OutboxMessage
from tests.conftest import PASSWORD, insert_traveller, login

TODAY = date.today()
NOW = f"{TODAY.isoformat()}T00:00"
LISBON_SQUARE = {"type": "Polygon", "coordinates": [[[-9.5, 38.5], [-8.8, 38.5], [-8.8, 39.0],
                                                     [-9.5, 39.0], [-9.5, 38.5]]]}


def add_traveller(app, given, *, country, lat=None, lon=None, place=None, precision=None,
                  language="en", phone=None, email=None):
    from emergency.core.database import db_session

    with app.app_context():
        return insert_traveller(
            db_session(), {"country": country, "place": place, "lat": lat, "lon": lon, "precision": precision,
                           "arrival": TODAY - timedelta(days=2), "departure": TODAY + timedelta(days=5)},
            given_name=given, family_name="Tremblay", language=language,
            email=email or f"{given.lower()}@example.org", phone=phone).id


@pytest.fixture
def lisbon(app):
    """Two travellers pinned in Lisbon, one known only to be in Portugal, one in Toronto."""
    return {
        "ann": add_traveller(app, "Ann", country="PT", lat=38.72, lon=-9.14, phone="+351912345678"),
        "zoe": add_traveller(app, "Zoe", country="PT", lat=38.75, lon=-9.10, language="fr"),
        "max": add_traveller(app, "Max", country="PT"),
        "tom": add_traveller(app, "Tom", country="CA", lat=43.65, lon=-79.38),
    }


def count(app, model) -> int:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(model))


def circle_form(**extra):
    data = {"title": "Lisbon earthquake", "starts_at": NOW, "ends_at": "", "zone_kind": "circle",
            "lat": "38.72", "lon": "-9.14", "radius_km": "50"}
    data.update(extra)
    return data


def create_incident(client, **extra) -> int:
    response = client.post("/incidents/new", data=circle_form(**extra))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


# ---------------------------------------------------------------- log-in and permissions

@pytest.mark.parametrize("path", ["/", "/incidents/new", "/outbox", "/incidents/1", "/incidents/1/stats.json"])
def test_console_pages_send_a_signed_out_visitor_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_wrong_password_is_refused_with_a_clear_error_and_no_session(client):
    response = client.post("/login", data={"email": "coordinator@example.org", "password": "nope"})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client):
    response = client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_empty_login_form_asks_for_email_and_password(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert "Enter your email and password" in response.get_data(as_text=True)


def test_login_error_is_shown_in_french_when_the_page_is_in_french(client):
    client.get("/login?lang=fr")
    response = client.post("/login", data={"email": "coordinator@example.org", "password": "nope"})
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Wrong email or password" not in html


def test_login_follows_a_local_next_path(client):
    response = client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD,
                                           "next": "/outbox"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/outbox"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_ignores_a_next_that_leaves_the_site(client, target):
    response = client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_is_a_post_and_ends_the_session(client):
    login(client, "viewer@example.org")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_viewer_sees_incidents_but_cannot_create_one(client, app):
    login(client, "viewer@example.org")
    index = client.get("/")
    assert index.status_code == 200
    assert 'id="new-incident"' not in index.get_data(as_text=True)
    assert client.get("/incidents/new").status_code == 403
    assert client.post("/incidents/new", data=circle_form()).status_code == 403
    assert client.post("/incidents/preview", data=circle_form()).status_code == 403
    assert count(app, Incident) == 0


def test_coordinator_sees_the_new_incident_button(client):
    login(client, "coordinator@example.org")
    assert 'id="new-incident"' in client.get("/").get_data(as_text=True)


def test_every_page_offers_the_other_language(client):
    login(client, "viewer@example.org")
    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "?lang=fr" in english
    french = client.get("/cases?lang=fr").get_data(as_text=True)
    assert '<html lang="fr">' in french and "/cases?lang=en" in french


# ---------------------------------------------------------------- preview

def test_preview_of_a_circle_counts_pinned_and_country_only_travellers(client, lisbon):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/preview", data=circle_form())
    assert response.status_code == 200
    result = response.get_json()
    assert result["count"] == 3
    assert {row["traveller_id"] for row in result["rows"]} == {lisbon["ann"], lisbon["zoe"], lisbon["max"]}
    assert result["zone"]["type"] in ("Polygon", "MultiPolygon")


def test_preview_of_a_drawn_polygon_uses_the_hidden_geojson_field(client, lisbon):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/preview", data={
        "zone_kind": "draw", "zone_geojson": json.dumps(LISBON_SQUARE), "starts_at": NOW})
    assert response.status_code == 200
    assert response.get_json()["count"] == 3


def test_preview_of_an_uploaded_file(client, lisbon):
    login(client, "coordinator@example.org")
    upload = (io.BytesIO(json.dumps({"type": "Feature", "properties": {}, "geometry": LISBON_SQUARE}).encode()),
              "zone.geojson")
    response = client.post("/incidents/preview", data={"zone_kind": "upload", "zone_file": upload,
                                                        "starts_at": NOW},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json()["count"] == 3


def test_preview_outside_everyone_counts_nobody(client, lisbon):
    login(client, "coordinator@example.org")
    result = client.post("/incidents/preview", data=circle_form(lat="-33.9", lon="151.2", radius_km="10")).get_json()
    assert result["count"] == 0 and result["rows"] == []


@pytest.mark.parametrize("fields, key", [
    ({"lat": "north"}, "zone"),
    ({"lat": "95"}, "zone"),
    ({"radius_km": "-5"}, "zone"),
    ({"zone_kind": "draw", "zone_geojson": ""}, "zone"),
    ({"zone_kind": "draw", "zone_geojson": "{not json"}, "zone"),
    ({"zone_kind": "upload"}, "zone"),
    ({"zone_kind": "teleport"}, "zone"),
    ({"starts_at": "yesterday-ish"}, "starts_at"),
    ({"starts_at": NOW, "ends_at": f"{(TODAY - timedelta(days=3)).isoformat()}T00:00"}, "ends_at"),
])
def test_preview_explains_what_is_wrong_with_the_zone_or_window(client, fields, key):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/preview", data=circle_form(**fields))
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert key in errors and errors[key].strip()


# ---------------------------------------------------------------- creating incidents

def test_creating_an_incident_from_a_drawn_zone_opens_its_page(client, app, lisbon):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/new", data={
        "title": "Lisbon fire", "starts_at": NOW, "zone_kind": "draw", "zone_geojson": json.dumps(LISBON_SQUARE)})
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Lisbon fire" in html
    assert re.search(r'id="stat-affected">\s*3\s*<', html)


def test_creating_an_incident_from_an_uploaded_file(client, app, lisbon):
    login(client, "coordinator@example.org")
    upload = (io.BytesIO(json.dumps(LISBON_SQUARE).encode()), "zone.geojson")
    response = client.post("/incidents/new", data={"title": "Upload", "starts_at": NOW, "zone_kind": "upload",
                                                   "zone_file": upload}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert count(app, Incident) == 1


@pytest.mark.parametrize("fields", [
    {"title": ""},
    {"lat": "abc"},
    {"radius_km": "0"},
    {"starts_at": "not a date"},
    {"zone_kind": "draw", "zone_geojson": json.dumps({"type": "Point", "coordinates": [0, 0]})},
])
def test_a_bad_incident_form_creates_nothing_and_says_why(client, app, fields):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/new", data=circle_form(**fields))
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert count(app, Incident) == 0


def test_an_oversized_upload_is_refused_and_creates_nothing(client, app):
    login(client, "coordinator@example.org")
    app.config["MAX_CONTENT_LENGTH"] = 2000
    upload = (io.BytesIO(b" " * 5000 + json.dumps(LISBON_SQUARE).encode()), "zone.geojson")
    response = client.post("/incidents/new", data={"title": "Big", "starts_at": NOW, "zone_kind": "upload",
                                                   "zone_file": upload}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert count(app, Incident) == 0


def test_index_lists_incidents_with_their_affected_count(client, lisbon):
    login(client, "coordinator@example.org")
    create_incident(client)
    html = client.get("/").get_data(as_text=True)
    assert "Lisbon earthquake" in html
    assert re.search(r'<td class="num">3</td>', html)


# ---------------------------------------------------------------- the incident page

def test_incident_page_pins_located_travellers_and_lists_country_only_ones(client, lisbon):
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    html = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    for tile in ("stat-affected", "stat-delivered", "stat-safe", "stat-need-help", "stat-no-answer"):
        assert f'id="{tile}"' in html
    data = page_data(html)
    points = client.get(data["points_url"]).get_json()["points"]  # served apart, clustered
    assert len(points) == 2
    assert {(round(p[0], 2), round(p[1], 2)) for p in points} == {(38.72, -9.14), (38.75, -9.10)}
    assert data["zone"]["type"] in ("Polygon", "MultiPolygon")
    assert "Max Tremblay" in html.split('class="unpinned"')[1].split("</details>")[0]


def test_unknown_incident_is_not_found(client):
    login(client, "viewer@example.org")
    assert client.get("/incidents/999").status_code == 404
    assert client.get("/incidents/999/stats.json").status_code == 404


def test_stats_json_gives_the_live_figures(client, lisbon):
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    stats = client.get(f"/incidents/{incident_id}/stats.json").get_json()
    assert stats["affected"] == 3
    assert stats["safe"] == 0 and stats["need_help"] == 0 and stats["no_answer"] == 3


def test_compose_form_is_prefilled_in_both_languages(client, lisbon):
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    html = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    for name in ("subject_en", "subject_fr", "body_en", "body_fr", "sms_en", "sms_fr"):
        assert f'name="{name}"' in html
    assert re.search(r'name="subject_en"[^>]*value="[^"]+"', html)


def alert_texts(**extra):
    data = {"subject_en": "Safety check", "subject_fr": "Vérification", "body_en": "Are you safe?",
            "body_fr": "Êtes-vous en sécurité ?", "sms_en": "Reply 1 if safe, 2 if you need help",
            "sms_fr": "Répondez 1 si vous êtes en sécurité, 2 si vous avez besoin d'aide",
            "channels": ["email", "sms"]}
    data.update(extra)
    return data


def test_composing_an_alert_saves_a_bilingual_draft(client, app, lisbon):
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    response = client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    assert response.status_code == 302
    from emergency.core.database import db_session

    with app.app_context():
        alert = db_session().scalars(select(Alert)).one()
        assert alert.status == "draft"
        assert alert.subject_fr == "Vérification" and alert.body_en == "Are you safe?"
        assert sorted(alert.channels) == ["email", "sms"]


@pytest.mark.parametrize("fields", [{"channels": []}, {"subject_fr": ""}, {"sms_en": ""}])
def test_an_incomplete_alert_is_not_saved_and_the_text_is_kept(client, app, lisbon, fields):
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    response = client.post(f"/incidents/{incident_id}/alerts", data=alert_texts(**fields))
    assert response.status_code == 400
    assert "Are you safe?" in response.get_data(as_text=True)
    assert count(app, Alert) == 0


def test_viewer_cannot_compose_approve_send_or_close(client, app, lisbon):
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    client.post("/logout")
    login(client, "viewer@example.org")
    assert client.post(f"/incidents/{incident_id}/alerts", data=alert_texts()).status_code == 403
    assert client.post("/alerts/1/approve").status_code == 403
    assert client.post("/alerts/1/send").status_code == 403
    assert client.post(f"/incidents/{incident_id}/close").status_code == 403
    html = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert 'id="compose"' not in html and "/alerts/1/send" not in html


def test_a_large_alert_needs_another_person_to_approve_before_it_is_sent(client, app, lisbon):
    app.config["APPROVAL_THRESHOLD"] = 1
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "/alerts/1/send" not in page and "/alerts/1/approve" not in page

    refused = client.post("/alerts/1/send", follow_redirects=True)
    assert "approval" in refused.get_data(as_text=True)
    with app.app_context():
        from emergency.core.database import db_session
        assert db_session().get(Alert, 1).status == "draft"

    client.post("/logout")
    login(client, "approver@example.org")
    assert "/alerts/1/approve" in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    client.post("/alerts/1/approve")
    client.post("/logout")
    login(client, "coordinator@example.org")
    assert "/alerts/1/send" in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    sent = client.post("/alerts/1/send", follow_redirects=True)
    assert sent.status_code == 200
    with app.app_context():
        from emergency.core.database import db_session
        assert db_session().get(Alert, 1).status in ("sending", "sent")


def test_an_approver_cannot_approve_their_own_alert(client, app, lisbon):
    app.config["APPROVAL_THRESHOLD"] = 1
    login(client, "approver@example.org")
    incident_id = create_incident(client)
    client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    assert "/alerts/1/approve" not in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    response = client.post("/alerts/1/approve", follow_redirects=True)
    assert "second person" in response.get_data(as_text=True)
    with app.app_context():
        from emergency.core.database import db_session
        assert db_session().get(Alert, 1).status == "draft"


def test_closing_an_incident_hides_the_compose_form(client, app, lisbon):
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    assert client.post(f"/incidents/{incident_id}/close").status_code == 302
    html = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert 'id="compose"' not in html
    with app.app_context():
        from emergency.core.database import db_session
        assert db_session().get(Incident, incident_id).status == "closed"


@pytest.mark.parametrize("text, encoding, segments", [
    ("Reply 1 if safe", "GSM-7", 1),
    ("Êtes-vous en sécurité ?", "UCS-2", 1),
    ("é" * 161, "GSM-7", 2),
    ("ê" * 71, "UCS-2", 2),
])
def test_sms_info_counts_real_segments(client, text, encoding, segments):
    login(client, "viewer@example.org")
    info = client.post("/alerts/sms-info", json={"text": text}).get_json()
    assert info["encoding"] == encoding and info["segments"] == segments


def test_sms_info_rejects_a_non_string(client):
    login(client, "viewer@example.org")
    assert client.post("/alerts/sms-info", json={"text": 42}).status_code == 400


# ---------------------------------------------------------------- outbox

DEVELOPMENT = pytest.mark.parametrize("app_overrides", [{"ENV_NAME": "development"}])


def send_to_lisbon(client, app):
    """Send an alert as a coordinator, then sign in as an administrator: in development
    mode, only they see the outbox."""
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    assert client.post("/alerts/1/send").status_code == 302
    client.post("/logout")
    with app.app_context():
        from emergency.core.auth import create_user
        from emergency.core.database import db_session

        create_user("admin@example.org", "Ada Admin", "admin", PASSWORD)
        db_session().commit()
    login(client, "admin@example.org")
    return incident_id


@DEVELOPMENT
def test_outbox_shows_sent_messages_newest_first(client, app, lisbon):
    send_to_lisbon(client, app)
    html = client.get("/outbox").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'id="message-(\d+)"', html)]
    assert len(ids) == count(app, OutboxMessage) > 0
    assert ids == sorted(ids, reverse=True)
    assert "+351912345678" in html


@DEVELOPMENT
def test_simulated_sms_reply_records_the_answer_and_shows_ours(client, app, lisbon):
    incident_id = send_to_lisbon(client, app)
    with app.app_context():
        from emergency.core.database import db_session
        sms = db_session().scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms",
                                                                OutboxMessage.to == "+351912345678")).one()
    response = client.post(f"/outbox/{sms.id}/reply", data={"body": "1"}, follow_redirects=True)
    assert "recorded that you are safe" in response.get_data(as_text=True)
    assert client.get(f"/incidents/{incident_id}/stats.json").get_json()["safe"] == 1
    assert count(app, SafetyResponse) == 1


@DEVELOPMENT
def test_email_messages_cannot_be_answered_from_the_outbox(client, app, lisbon):
    send_to_lisbon(client, app)
    with app.app_context():
        from emergency.core.database import db_session
        email = db_session().scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).first()
    response = client.post(f"/outbox/{email.id}/reply", data={"body": "1"}, follow_redirects=True)
    assert "Only text messages" in response.get_data(as_text=True)
    assert count(app, SafetyResponse) == 0


@DEVELOPMENT
def test_an_empty_simulated_reply_is_refused(client, app, lisbon):
    send_to_lisbon(client, app)
    with app.app_context():
        from emergency.core.database import db_session
        sms = db_session().scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).first()
    response = client.post(f"/outbox/{sms.id}/reply", data={"body": "  "}, follow_redirects=True)
    assert "Type the reply text first" in response.get_data(as_text=True)
    assert count(app, SafetyResponse) == 0


# ---------------------------------------------------------------- base map and assets

def test_countries_layer_is_served_as_geojson_and_gzipped_when_asked(client):
    plain = client.get("/countries.geojson")
    data = plain.get_json(force=True)
    assert data["type"] == "FeatureCollection"
    codes = {f["properties"]["code"] for f in data["features"]}
    assert {"FR", "CA", "PT"} <= codes
    packed = client.get("/countries.geojson", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.data)) == data


def test_map_pages_use_only_local_assets(client):
    login(client, "coordinator@example.org")
    html = client.get("/incidents/new").get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "/static/vendor/leaflet-draw/leaflet.draw.js" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


@pytest.mark.parametrize("path", ["vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
                                  "vendor/leaflet/images/marker-icon.png", "vendor/leaflet/LICENSE",
                                  "vendor/leaflet-draw/leaflet.draw.js", "vendor/leaflet-draw/leaflet.draw.css",
                                  "vendor/leaflet-draw/images/spritesheet.svg", "vendor/leaflet-draw/LICENSE",
                                  "css/console.css", "js/incident_new.js", "js/incident_view.js"])
def test_static_assets_are_shipped(client, path):
    response = client.get(f"/static/{path}")
    assert response.status_code == 200
    response.close()


# ---------------------------------------------------------------- CSRF (on, as in production)

class TestWithCsrf:
    @pytest.fixture
    def app_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def token(client, path="/login"):
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    def test_login_without_the_form_token_signs_nobody_in(self, client):
        response = client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD})
        assert response.status_code in (302, 400)
        assert client.get("/").status_code == 302

    def test_login_with_the_form_token_works(self, client):
        token = self.token(client)
        response = client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"] == "/"

    def test_preview_needs_the_csrf_header_from_the_meta_tag(self, client, lisbon):
        token = self.token(client)
        client.post("/login", data={"email": "coordinator@example.org", "password": PASSWORD, "csrf_token": token})
        token = self.token(client, "/incidents/new")
        assert client.post("/incidents/preview", data=circle_form()).status_code == 400
        response = client.post("/incidents/preview", data=circle_form(), headers={"X-CSRFToken": token})
        assert response.status_code == 200 and response.get_json()["count"] == 3

    def test_logout_without_a_token_keeps_the_session(self, client):
        token = self.token(client)
        client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD, "csrf_token": token})
        client.post("/logout")
        assert client.get("/").status_code == 200
