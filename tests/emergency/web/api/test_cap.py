"""CAP over the API: trigger systems post CAP (bearer token or HMAC signature) and are told
which draft incident it opened or updated, or why it was refused; partners read each alert
as CAP-CP and an Atom index, and what we publish is valid CAP 1.2."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from lxml import etree

from cap.read import parse_xml, read, schema_problems
from tests.cap.conftest import DATA, VALID
from tests.conftest import api_headers
from tests.emergency.services.test_cap_in import UPDATE

SECRET = "trigger-test-secret"
CAP = "application/cap+xml"


@pytest.fixture
def app_overrides():
    return {"TRIGGER_HMAC_SECRET": SECRET, "CAP_SENDER": "consular.test", "CAP_IDENTIFIER_PREFIX": "urn:consular.test:alert"}


def post(client, body, headers=None, content_type=CAP):
    return client.post("/api/v1/triggers", data=body.encode() if isinstance(body, str) else body,
                       headers=headers or {}, content_type=content_type)


def signed(body: str, secret: str = SECRET) -> dict:
    return {"X-Signature": "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()}


def test_a_coordinators_token_opens_a_draft_and_the_answer_names_it(client, app):
    response = post(client, VALID, api_headers(app))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "opened" and body["incident_url"].endswith(f"/incidents/{body['incident_id']}")
    incident = client.get(f"/api/v1/incidents/{body['incident_id']}", headers=api_headers(app)).get_json()
    assert incident["title"] == incident["title_en"] == "Strong earthquake near Lisbon"
    assert incident["title_fr"] == "Fort séisme près de Lisbonne"
    assert incident["alerts"] == [body["alert_id"]]


def test_an_update_answers_200_with_the_same_incident_and_a_repost_is_a_duplicate(client, app):
    first = post(client, VALID, api_headers(app)).get_json()
    update = post(client, UPDATE, api_headers(app))
    assert (update.status_code, update.get_json()["status"], update.get_json()["incident_id"]) == (
        200, "updated", first["incident_id"])
    again = post(client, UPDATE, api_headers(app))
    assert (again.status_code, again.get_json()["status"], again.get_json()["incident_id"]) == (
        200, "duplicate", first["incident_id"])


def test_a_good_signature_is_enough(client):
    response = post(client, VALID, signed(VALID))
    assert response.status_code == 201


@pytest.mark.parametrize("headers", [{}, {"X-Signature": "sha256=" + "0" * 64}, "wrong-secret",
                                     {"Authorization": "Bearer nope"}], ids=["missing", "bad", "other_secret", "bad_token"])
def test_no_signature_or_a_bad_one_is_401(client, headers):
    headers = signed(VALID, "another secret") if headers == "wrong-secret" else headers
    assert post(client, VALID, headers).status_code == 401


def test_a_signature_counts_for_nothing_without_a_configured_secret(client, app):
    app.config["TRIGGER_HMAC_SECRET"] = None
    assert post(client, VALID, signed(VALID)).status_code == 401


def test_a_viewer_may_not_post_triggers(client, app):
    assert post(client, VALID, api_headers(app, "viewer@example.org")).status_code == 403


def test_other_content_types_are_415_and_oversize_is_413(client, app):
    response = post(client, VALID, api_headers(app), content_type="application/json")
    assert (response.status_code, response.get_json()["error"]) == (415, "unsupported_media_type")
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = post(client, VALID, api_headers(app))
    assert (response.status_code, response.get_json()["error"]) == (413, "too_large")


def test_a_refusal_lists_the_reasons_in_the_callers_language(client, app):
    broken = VALID.replace("<scope>Public</scope>", "").replace("2024-05-01T12:00:00-00:00", "2024-05-01T12:00:00Z")
    headers = {**api_headers(app), "Accept-Language": "fr"}
    response = post(client, broken, headers)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_cap"
    reasons = {r["path"]: r for r in body["reasons"]}
    assert reasons["/alert/scope"]["code"] == "missing" and reasons["/alert/sent"]["code"] == "time_zone"
    assert "obligatoire" in reasons["/alert/scope"]["message"]


@pytest.mark.parametrize("document", [
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>',
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><alert>&d;</alert>',
    "<alert", "", (DATA / "us_nws_2010-08-30_flashfloodwatch_cap11__google_weather.cap").read_text(),
], ids=["xxe", "laughs", "truncated", "empty", "cap11"])
def test_hostile_or_broken_documents_are_422_never_500(client, app, document):
    response = post(client, document, api_headers(app))
    assert response.status_code == 422 and response.get_json()["reasons"]


# --------------------------------------------------------------------------- CAP-CP out


def cap_of(client, app, alert_id) -> bytes:
    response = client.get(f"/api/v1/alerts/{alert_id}/cap", headers=api_headers(app, "viewer@example.org"))
    assert response.status_code == 200 and response.mimetype == CAP
    assert schema_problems(parse_xml(response.data)) == []
    return response.data


def compose(client, app, incident_id, kind="safety_check") -> int:
    response = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=api_headers(app), json={"kind": kind})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def send(client, app, alert_id) -> None:
    assert client.post(f"/api/v1/alerts/{alert_id}/send", headers=api_headers(app)).status_code == 202


def test_a_single_alert_is_valid_cap_cp_in_both_languages(client, app, make_incident):
    incident = make_incident("Floods")
    alert_id = compose(client, app, incident)
    assert read(cap_of(client, app, alert_id))[0].status == "Draft"
    send(client, app, alert_id)
    [alert] = read(cap_of(client, app, alert_id))
    assert (alert.identifier, alert.sender, alert.status, alert.msg_type) == (
        f"urn:consular.test:alert:{alert_id}", "consular.test", "Actual", "Alert")
    assert alert.is_cap_cp and [i.language for i in alert.infos] == ["en-CA", "fr-CA"]
    assert alert.infos[1].headline.startswith("Vérification") or "Floods" in alert.infos[1].headline
    circle = alert.infos[0].areas[0].circles[0]
    assert (circle.lat, circle.lon, circle.radius_km) == (38.72, -9.14, 30)


def test_a_multi_ring_incident_has_one_area_per_zone(client, app, make_incident):
    square = {"type": "Polygon", "coordinates": [[[-9.5, 38.5], [-8.9, 38.5], [-8.9, 38.9], [-9.5, 38.9], [-9.5, 38.5]]]}
    incident = make_incident("Quake", zones=[
        {"zone": {"circle": {"lat": 38.72, "lon": -9.14, "radius_km": 10}}, "label_en": "Centre", "label_fr": "Centre-ville"},
        {"zone": square, "label_en": "Region", "label_fr": "Région"}], zone=None)
    alert_id = compose(client, app, incident)
    [alert] = read(cap_of(client, app, alert_id))
    en, fr = alert.infos
    assert [a.description for a in en.areas] == ["Centre", "Region"] and [a.description for a in fr.areas] == [
        "Centre-ville", "Région"]
    assert en.areas[0].circles and en.areas[1].polygons[0][0] == en.areas[1].polygons[0][-1]


def test_an_update_and_an_all_clear_reference_the_earlier_alerts(client, app, make_incident):
    incident = make_incident("Storm")
    first = compose(client, app, incident)
    send(client, app, first)
    second = compose(client, app, incident, "information")
    send(client, app, second)
    over = compose(client, app, incident, "all_clear")
    [update] = read(cap_of(client, app, second))
    assert update.msg_type == "Update" and [r.identifier for r in update.references] == [f"urn:consular.test:alert:{first}"]
    send(client, app, over)
    [clear] = read(cap_of(client, app, over))
    assert clear.msg_type == "Update" and clear.infos[0].response_types == ["AllClear"]
    assert [r.identifier for r in clear.references] == [f"urn:consular.test:alert:{first}", f"urn:consular.test:alert:{second}"]


def test_the_atom_index_lists_sent_alerts_with_their_cap_links(client, app, make_incident):
    incident = make_incident("Storm")
    draft = compose(client, app, incident)
    sent = compose(client, app, incident, "information")
    send(client, app, sent)
    response = client.get("/api/v1/alerts/cap.atom", headers=api_headers(app, "viewer@example.org"))
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = etree.fromstring(response.data)
    links = [e.find("a:link", ns).get("href") for e in feed.findall("a:entry", ns)]
    assert draft != sent and links == [f"https://consular.test/api/v1/alerts/{sent}/cap"]  # the draft is not listed


def test_reading_cap_needs_a_token(client, app, make_incident):
    alert_id = compose(client, app, make_incident("Storm"))
    assert client.get(f"/api/v1/alerts/{alert_id}/cap").status_code == 401
    assert client.get("/api/v1/alerts/cap.atom").status_code == 401
    assert client.get("/api/v1/alerts/999/cap", headers=api_headers(app)).status_code == 404
