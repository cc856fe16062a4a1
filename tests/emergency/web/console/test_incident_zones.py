"""The console's zone inputs (rings, text, countries, uploads), the incident page's zones,
the compact map endpoint, and the migration that gives old incidents their zone."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from emergency.core.models import IncidentZone
from registry.service import StopInput, TravellerInput, register_traveller
from tests.conftest import api_headers, login

TODAY = date.today()
NOW = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M")


def _stop(country, lat=None, lon=None, place=None):
    return StopInput(country=country, lat=lat, lon=lon, place=place,
                     arrival=(TODAY - timedelta(days=1)).isoformat(),
                     departure=(TODAY + timedelta(days=5)).isoformat())


@pytest.fixture
def lisbon(app):
    with app.app_context():
        from emergency.core.database import db_session

        session = db_session()
        for i, (given, stops) in enumerate([("Ines", [_stop("PT", 38.75, -9.20)]),
                                            ("Otto", [_stop("PT", 39.60, -8.80)]),
                                            ("Carla", [_stop("PT")]),
                                            ("Lea", [_stop("PT", place="Lisbon")])]):
            register_traveller(session, TravellerInput(given_name=given, family_name="Silva",
                                                       email=f"p{i}@example.org", language="en", stops=stops))
        session.commit()


def _form(**extra):
    data = {"title": "Lisbon earthquake", "starts_at": NOW, "zone_kind": "circle",
            "lat": "38.72", "lon": "-9.14", "radius_km": "50",
            "zone_label_en": "Shelter in place", "zone_label_fr": "Restez à l'abri",
            "zone_message_en": "Stay indoors.", "zone_message_fr": "Restez à l'intérieur.",
            "zones-0-radius_km": "200", "zones-0-label_en": "Be ready", "zones-0-label_fr": "Soyez prêts",
            "zones-0-message_en": "Be ready to leave.", "zones-0-message_fr": "Soyez prêts à partir."}
    data.update(extra)
    return data


def _zones(app):
    with app.app_context():
        from emergency.core.database import db_session

        return [(z.severity, z.label_en, (z.zone_source or {}).get("radius_km"))
                for z in db_session().scalars(select(IncidentZone).order_by(IncidentZone.severity))]


def test_a_circle_with_a_ring_creates_two_zones_and_the_page_counts_each(client, app, lisbon):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/new", data=_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _zones(app) == [(1, "Shelter in place", 50.0), (2, "Be ready", 200.0)]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    table = html.split('id="zones-table"')[1].split("</table>")[0]
    rows = re.findall(r"<tr data-severity=\"(\d)\">(.*?)</tr>", table, re.S)
    cells = {sev: re.findall(r'<td class="num">(\d+)</td>', body) for sev, body in rows}
    assert cells == {"1": ["3", "1", "0"], "2": ["1", "0", "0"]}  # affected, possibly, alerted
    assert "Be ready to leave." in table


def test_the_page_says_possibly_affected_for_country_only_travellers(client, app, lisbon):
    login(client, "coordinator@example.org")
    location = client.post("/incidents/new", data=_form()).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "possibly affected" in html
    assert "Carla Silva" in html.split('class="unpinned"')[1].split("</details>")[0]
    french = client.get(location + "?lang=fr").get_data(as_text=True)
    assert "possiblement touché" in french


def test_the_preview_counts_each_zone(client, app, lisbon):
    login(client, "coordinator@example.org")
    result = client.post("/incidents/preview", data=_form()).get_json()
    assert result["count"] == 4
    assert [(z["severity"], z["label"], z["count"], z["possibly"]) for z in result["zones"]] == [
        (1, "Shelter in place", 3, 1), (2, "Be ready", 1, 0)]


@pytest.mark.parametrize("extra, words", [
    ({"zones-0-radius_km": "30"}, "larger than the inner circle"),
    ({"zones-0-radius_km": "far"}, "number"),
    ({"zones-0-message_en": "x" * 501}, "too long"),
    ({"zones-0-radius_km": "", "zones-0-text": "POLYGON((0 0, 1 1))"}, "WKT"),
])
def test_bad_rings_are_refused_with_a_message_and_create_nothing(client, app, lisbon, extra, words):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/new", data=_form(**extra))
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert _zones(app) == []


def test_another_zone_can_be_pasted_as_wkt(client, app, lisbon):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/new", data=_form(**{
        "zones-0-radius_km": "", "zones-0-text": "POLYGON((-10 39, -8 39, -8 40, -10 40, -10 39))"}))
    assert response.status_code == 302
    assert [z[0] for z in _zones(app)] == [1, 2]


def test_the_text_tab_reads_a_cap_polygon_in_latitude_longitude_order(client, app, lisbon):
    login(client, "coordinator@example.org")
    result = client.post("/incidents/preview", data={
        "zone_kind": "text", "text_kind": "cap_polygon", "starts_at": NOW,
        "zone_text": "38.5,-9.5 38.5,-9.0 39.0,-9.0 39.0,-9.5 38.5,-9.5"}).get_json()
    assert result["count"] == 3  # Ines, Lea (Lisbon) and Carla (Portugal, possibly)


def test_the_countries_tab_takes_several_countries(client, app, lisbon):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/new", data={"title": "Iberia", "starts_at": NOW, "zone_kind": "countries",
                                                   "countries": ["PT", "ES"]})
    assert response.status_code == 302
    page = client.get("/incidents/new").get_data(as_text=True)
    assert '<option value="PT">Portugal (PT)</option>' in page


@pytest.mark.parametrize("data, words", [
    ({"zone_kind": "countries"}, "at least one country"),
    ({"zone_kind": "text", "text_kind": "wkt", "zone_text": ""}, "Paste"),
    ({"zone_kind": "text", "text_kind": "shapefile", "zone_text": "x"}, "WKT"),
    ({"zone_kind": "upload"}, "Choose a file"),
])
def test_empty_or_unknown_zone_inputs_are_refused(client, app, data, words):
    login(client, "coordinator@example.org")
    response = client.post("/incidents/preview", data={"starts_at": NOW, **data})
    assert response.status_code == 400
    assert words in response.get_json()["errors"]["zone"]


def test_the_upload_tab_reads_kml(client, app, lisbon):
    import io

    kml = (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon>'
           b'<outerBoundaryIs><LinearRing><coordinates>-10,38 -8,38 -8,40 -10,40 -10,38</coordinates>'
           b'</LinearRing></outerBoundaryIs></Polygon></Placemark></kml>')
    login(client, "coordinator@example.org")
    result = client.post("/incidents/preview", data={"starts_at": NOW, "zone_kind": "upload",
                                                     "zone_file": (io.BytesIO(kml), "zone.kml")},
                         content_type="multipart/form-data")
    assert result.status_code == 200, result.get_json()
    assert result.get_json()["count"] == 4


# ---------------------------------------------------------------- the map's points


def test_points_json_is_compact_arrays_without_names_coloured_by_precision_before_any_alert(client, app, lisbon):
    login(client, "viewer@example.org")
    incident = client.post("/api/v1/incidents", headers=api_headers(app), json={
        "title": "Quake", "zone": {"circle": {"lat": 38.72, "lon": -9.14, "radius_km": 200}}}).get_json()
    response = client.get(f"/incidents/{incident['id']}/points.json")
    body = response.get_json()
    assert body["mode"] == "precision"
    assert body["count"] == 3 and body["country_only"] == 1
    assert all(len(p) == 4 for p in body["points"])
    assert sorted(p[2] for p in body["points"]) == [0, 0, 1]  # two map points, one city
    assert body["precision_codes"] == ["point", "city", "country"]
    assert "Silva" not in response.get_data(as_text=True)


def test_points_json_switches_to_answers_once_an_alert_went_out(client, app, lisbon):
    headers = api_headers(app)
    incident = client.post("/api/v1/incidents", headers=headers, json={
        "title": "Quake", "zone": {"circle": {"lat": 38.72, "lon": -9.14, "radius_km": 200}}}).get_json()
    alert = client.post(f"/api/v1/incidents/{incident['id']}/alerts", headers=headers, json={}).get_json()
    client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers)
    with app.app_context():
        from emergency.core.database import db_session
        from emergency.core.models import SafetyResponse
        from registry.models import Traveller

        session = db_session()
        ines = session.scalar(select(Traveller.id).where(Traveller.given_name == "Ines"))
        session.add(SafetyResponse(incident_id=incident["id"], traveller_id=ines, status="need_help", channel="web"))
        session.commit()
    login(client, "viewer@example.org")
    body = client.get(f"/incidents/{incident['id']}/points.json").get_json()
    assert body["mode"] == "answer"
    assert sorted(p[3] for p in body["points"]) == [0, 0, 2]


def test_points_json_needs_a_login_and_a_known_incident(client, app):
    assert client.get("/incidents/1/points.json").status_code in (302, 401)
    login(client, "viewer@example.org")
    assert client.get("/incidents/999/points.json").status_code == 404


# ---------------------------------------------------------------- migration


def test_migration_gives_each_existing_incident_its_zone_as_severity_one(tmp_path):
    from emergency.core.database import make_engine
    from emergency.core.migrate import upgrade

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(eng, "0003")
    zone = {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO incidents (id, title, status, zone_geojson, zone_source, starts_at, created_at) "
                          "VALUES (7, 'Old', 'active', :zone, :source, '2024-01-01', '2024-01-01')"),
                     {"zone": json.dumps(zone), "source": json.dumps({"kind": "polygon"})})
    upgrade(eng)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT incident_id, severity, zone_geojson FROM incident_zones")).all()
    eng.dispose()
    assert [(r[0], r[1], json.loads(r[2])) for r in rows] == [(7, 1, zone)]
