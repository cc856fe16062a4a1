"""Exports of the affected set: CSV, GeoJSON and GeoPackage, chosen fields, contact details
only for coordinators and above, every export audited without personal data."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from emergency.core.models import AuditEntry
from registry.models import Companion
from registry.service import StopInput, TravellerInput, register_traveller
from tests.conftest import api_headers, login

TODAY = date.today()


def _stop(country, lat=None, lon=None):
    return StopInput(country=country, lat=lat, lon=lon, arrival=(TODAY - timedelta(days=1)).isoformat(),
                     departure=(TODAY + timedelta(days=5)).isoformat())


@pytest.fixture
def incident_id(app, make_incident):
    """Ann (pinned in Lisbon, one companion with contacts), Max (Portugal only), Tom (Toronto)."""
    with app.app_context():
        from emergency.core.database import db_session

        session = db_session()
        ann = register_traveller(session, TravellerInput(
            given_name="Ann", family_name="Lee", email="ann@example.org", phone="+351912345678",
            language="en", stops=[_stop("PT", 38.72, -9.14)]))
        register_traveller(session, TravellerInput(
            given_name="Max", family_name="Roy", email="max@example.org", phone="+351912345679",
            language="fr", stops=[_stop("PT")]))
        register_traveller(session, TravellerInput(
            given_name="Tom", family_name="Wu", email="tom@example.org", language="en",
            stops=[_stop("CA", 43.65, -79.38)]))
        session.add(Companion(traveller_id=ann.id, given_name="Bea", family_name="Lee", age_band="5-11",
                              email="bea@example.org", phone="+351912000000"))
        session.commit()
    return make_incident("Lisbon earthquake", radius_km=100, starts_at=f"{TODAY.isoformat()}T00:00:00Z")


def _api(client, app, incident_id, who="coordinator@example.org", **params):
    return client.get(f"/api/v1/incidents/{incident_id}/export", headers=api_headers(app, who),
                      query_string=params)


def _audits(app):
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().scalars(select(AuditEntry).where(AuditEntry.action == "incident.exported")).all()


def test_csv_has_the_default_fields_and_no_contact_details(client, app, incident_id):
    response = _api(client, app, incident_id, format="csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["given_name"] for r in rows} == {"Ann", "Max"}
    assert "email" not in rows[0] and "phone" not in rows[0]
    assert "ann@example.org" not in response.get_data(as_text=True)
    ann = next(r for r in rows if r["given_name"] == "Ann")
    assert ann["companions"] == "1" and ann["precision"] == "point" and ann["answer"] == "no_answer"


def test_a_field_choice_gives_exactly_those_columns_in_that_order(client, app, incident_id):
    response = _api(client, app, incident_id, format="csv", fields="family_name,given_name,possibly_affected")
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "family_name,given_name,possibly_affected"
    assert "Roy,Max,True" in lines


def test_repeated_fields_parameters_are_accepted(client, app, incident_id):
    response = client.get(f"/api/v1/incidents/{incident_id}/export?format=csv&fields=given_name&fields=country",
                          headers=api_headers(app))
    assert response.get_data(as_text=True).splitlines()[0] == "given_name,country"


def test_coordinator_may_export_contact_details_including_companions(client, app, incident_id):
    response = _api(client, app, incident_id, format="csv",
                    fields="given_name,email,phone,phone2,companion_names,companion_contacts")
    assert response.status_code == 200
    ann = next(r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True))) if r["given_name"] == "Ann")
    assert ann["email"] == "ann@example.org" and ann["phone"] == "+351912345678"
    assert ann["companion_names"] == "Bea Lee (5-11)"
    assert ann["companion_contacts"] == "Bea Lee: bea@example.org, +351912000000"


@pytest.mark.parametrize("field", ["email", "phone", "phone2", "companion_contacts"])
def test_viewer_asking_for_contact_details_gets_403_with_a_clear_message(client, app, incident_id, field):
    response = _api(client, app, incident_id, who="viewer@example.org", format="csv", fields=f"given_name,{field}")
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "forbidden" and field in body["message"] and "contact details" in body["message"]
    assert _audits(app) == []


def test_viewer_may_export_without_contact_details(client, app, incident_id):
    response = _api(client, app, incident_id, who="viewer@example.org", format="geojson")
    assert response.status_code == 200


def test_the_403_message_comes_in_french_when_asked(client, app, incident_id):
    response = client.get(f"/api/v1/incidents/{incident_id}/export?format=csv&fields=email",
                          headers={**api_headers(app, "viewer@example.org"), "Accept-Language": "fr"})
    assert response.status_code == 403
    assert "coordonnées" in response.get_json()["message"]


def test_geojson_has_points_and_a_null_geometry_for_country_only_travellers(client, app, incident_id):
    response = _api(client, app, incident_id, format="geojson", fields="given_name,precision")
    assert response.mimetype == "application/geo+json"
    features = {f["properties"]["given_name"]: f for f in json.loads(response.data)["features"]}
    assert features["Ann"]["geometry"] == {"type": "Point", "coordinates": [-9.14, 38.72]}
    assert features["Max"]["geometry"] is None
    assert set(features["Ann"]["properties"]) == {"given_name", "precision"}


def test_geopackage_opens_with_the_chosen_fields(client, app, incident_id, tmp_path):
    import pyogrio

    response = _api(client, app, incident_id, format="gpkg", fields="given_name,distance_km,email")
    assert response.status_code == 200
    path = tmp_path / "out.gpkg"
    path.write_bytes(response.data)
    frame = pyogrio.read_dataframe(path, layer="affected")
    assert sorted(frame["given_name"]) == ["Ann", "Max"]
    assert {"given_name", "distance_km", "email", "geometry"} <= set(frame.columns)
    ann = frame[frame["given_name"] == "Ann"].iloc[0]
    assert (round(ann.geometry.x, 2), round(ann.geometry.y, 2)) == (-9.14, 38.72)
    assert frame[frame["given_name"] == "Max"].iloc[0].geometry is None


@pytest.mark.parametrize("params, words", [
    ({"format": "xlsx"}, "format"),
    ({"format": "csv", "fields": "given_name,shoe_size"}, "shoe_size"),
])
def test_unknown_formats_and_fields_are_refused(client, app, incident_id, params, words):
    response = _api(client, app, incident_id, **params)
    assert response.status_code == 400
    assert words in response.get_json()["message"]


def test_every_export_is_audited_with_fields_and_count_but_no_personal_data(client, app, incident_id):
    _api(client, app, incident_id, format="csv", fields="given_name,email")
    _api(client, app, incident_id, who="viewer@example.org", format="gpkg")
    entries = _audits(app)
    assert [(e.actor, e.object_id, e.details["format"], e.details["rows"]) for e in entries] == [
        ("api:coordinator@example.org", str(incident_id), "csv", 2),
        ("api:viewer@example.org", str(incident_id), "gpkg", 2),
    ]
    assert entries[0].details["fields"] == ["given_name", "email"] and entries[0].details["contacts"] is True
    dumped = json.dumps([e.details for e in entries])
    assert "Ann" not in dumped and "example.org" not in dumped


def test_console_export_downloads_and_refuses_contacts_to_a_viewer(client, app, incident_id):
    login(client, "coordinator@example.org")
    ok = client.get(f"/incidents/{incident_id}/export.csv?fields=given_name,email")
    assert ok.status_code == 200 and "ann@example.org" in ok.get_data(as_text=True)
    client.post("/logout")
    login(client, "viewer@example.org")
    refused = client.get(f"/incidents/{incident_id}/export?format=csv&fields=given_name&fields=email")
    assert refused.status_code == 403
    assert "contact details" in refused.get_data(as_text=True)
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert 'value="email" disabled' in page


def test_export_of_an_unknown_incident_is_not_found(client, app):
    assert client.get("/api/v1/incidents/999/export", headers=api_headers(app)).status_code == 404
