"""CAP in: a CAP 1.2 message opens a bilingual draft incident, an Update or Cancel acts on the
incident of the message it references, the same message twice acts once, and anything
refused says why (nothing half-written, no 500)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from emergency.core.models import Alert, AuditEntry, CapMessage, Incident
from tests.cap.conftest import DATA, VALID, samples

# What each real sample does on an empty database: the accepted ones open a draft; the
# others are refused with the reason (no area we can use, CAP 1.1, a cancel of nothing).
EXPECTED = {
    "au_nswrfs_2011-10-05": "point_only", "au_nswrfs_edxlde": "point_only", "bf_anam": "opened",
    "ca_ec_2012-05-02": "opened", "ca_ec_2013-01-24": "opened", "ca_ec_2022-10-10_airquality": "opened",
    "ca_ec_2022-10-10_frost": "opened", "ca_naads": "opened", "de_dwd_2015-07-22": "opened",
    "de_dwd_2015-10-31": "no_area", "de_dwd_2017-02-23": "no_area", "fr_meteofrance": "no_area",
    "ie_meteireann": "opened", "oasis_cap12_appendixA1": "no_area", "oasis_cap12_appendixA2": "opened",
    "oasis_cap12_appendixA3": "point_only", "oasis_cap12_appendixA4": "no_area", "sc_meteo": "opened",
    "tg_meteotogo": "opened", "uk_metoffice": "no_area", "us_ipaws_2019-01-04": "no_area",
    "us_ipaws_2019-04-19": "unknown_reference", "us_ipaws_2019-05-30": "no_area", "us_ipaws_2019-12-13": "opened",
    "us_ipaws_2020-04-24": "no_area", "us_nws_2010-08-30": "old_version", "us_nws_2021-12-27": "old_version",
    "us_usgs_2012-10-14": "point_only", "us_wcatwc_2011-09-02": "no_area", "us_wcatwc_2013-01-05": "point_only",
}


def expected(path) -> str:
    [what] = [v for k, v in EXPECTED.items() if path.name.startswith(k)]
    return what


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        from emergency.core.database import db_session

        yield db_session()


def ingest(document, source="upload"):
    from emergency.services.cap_in import ingest as run

    return run(document.encode() if isinstance(document, str) else document, source)


UPDATE = (VALID.replace("urn:test:quake:1", "urn:test:quake:2")
          .replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>\n  <scope>Public</scope>\n"
                   "  <code>profile:CAP-CP:0.4</code>\n"
                   "  <references>trigger@example.org,urn:test:quake:1,2024-05-01T12:00:00-00:00</references>", 1)
          .replace("<scope>Public</scope>\n  <code>profile:CAP-CP:0.4</code>\n  <info>", "<info>", 1)
          .replace("Strong earthquake near Lisbon", "Strong earthquake near Lisbon: aftershocks")
          .replace("Fort séisme près de Lisbonne", "Fort séisme près de Lisbonne : répliques")
          .replace("38.9,-9.5 38.5,-9.5", "39.2,-9.5 38.5,-9.5").replace("38.9,-8.9", "39.2,-8.9"))
CANCEL = (UPDATE.replace("urn:test:quake:2", "urn:test:quake:3").replace("<msgType>Update</msgType>",
                                                                         "<msgType>Cancel</msgType>"))


def test_the_update_fixture_is_itself_valid_cap():
    from cap.read import read

    assert [a.msg_type for a in read(UPDATE)] == ["Update"] and read(CANCEL)[0].msg_type == "Cancel"


@pytest.mark.parametrize("path", samples(), ids=lambda p: p.name[:40])
def test_every_real_sample_opens_a_draft_or_is_refused_with_its_reason(ctx, path):
    result = ingest(path.read_bytes())
    want = expected(path)
    if want == "opened":
        assert result.status == "opened" and ctx.get(Incident, result.incident_id).status == "active"
    else:
        assert result.refused and want in {r.code for r in result.reasons}
        assert ctx.scalar(select(func.count()).select_from(Incident)) == 0
        assert ctx.scalar(select(AuditEntry).where(AuditEntry.action == "cap.refused")) is not None


def test_a_cap_cp_message_becomes_the_drafts_english_and_french(ctx):
    result = ingest((DATA / "ca_naads_2019-01-09_wind_PelmorexNAADS_WindWarning.xml").read_bytes())
    incident = ctx.get(Incident, result.incident_id)
    assert (incident.title, incident.title_fr) == ("wind warning in effect", "avertissement de vent en vigueur")
    [alert] = incident.alerts
    assert (alert.kind, alert.status) == ("safety_check", "draft")
    assert (alert.subject_en, alert.subject_fr) == ("wind warning in effect", "avertissement de vent en vigueur")
    assert "Strong winds that may cause damage" in alert.body_en and "Des vents forts" in alert.body_fr
    assert "Reply 1" in alert.sms_en and "1" in alert.sms_fr
    [message] = incident.cap_messages
    assert (message.identifier, message.sender, message.action) == (
        "urn:oid:2.49.0.1.124.3936999913.2019", "cap-pac@canada.ca", "opened")
    assert message.sent.isoformat().startswith("2019-01-09T02:17:03")


def test_a_missing_language_is_left_for_the_coordinator_to_write(ctx):
    from emergency.services.cap_in import draft_texts

    result = ingest((DATA / "ie_meteireann_2022-12-06_lowtemp_polygons__meteoalarm_ireland_sample_detail.xml").read_bytes())
    incident = ctx.get(Incident, result.incident_id)
    assert incident.alerts == [] and result.outcomes[0].notes == ["missing_fr"]
    texts = draft_texts(incident)
    assert texts["subject_en"] and texts["body_en"] and texts["subject_fr"] == texts["body_fr"] == texts["sms_fr"] == ""


def test_the_zone_is_the_messages_polygon_in_lon_lat(ctx):
    incident = ctx.get(Incident, ingest(VALID).incident_id)
    [zone] = incident.zones
    lons = [x for ring in zone.zone_geojson["coordinates"][0] for x, _y in ring]
    lats = [y for ring in zone.zone_geojson["coordinates"][0] for _x, y in ring]
    assert (min(lons), max(lons), min(lats), max(lats)) == (-9.5, -8.9, 38.5, 38.9)


def test_an_update_changes_the_earlier_draft_zone_and_texts(ctx):
    first = ingest(VALID)
    second = ingest(UPDATE)
    assert (second.status, second.incident_id) == ("updated", first.incident_id)
    assert ctx.scalar(select(func.count()).select_from(Incident)) == 1
    incident = ctx.get(Incident, first.incident_id)
    ctx.refresh(incident)
    assert incident.title.endswith("aftershocks") and incident.title_fr.endswith("répliques")
    assert max(y for ring in incident.zones[0].zone_geojson["coordinates"][0] for _x, y in ring) == 39.2
    [alert] = incident.alerts
    assert alert.subject_en == "Strong earthquake near Lisbon: aftershocks" and alert.status == "draft"
    assert [m.action for m in incident.cap_messages] == ["opened", "updated"]


def test_an_update_after_an_alert_went_out_is_recorded_and_changes_nothing(ctx):
    first = ingest(VALID)
    incident = ctx.get(Incident, first.incident_id)
    incident.alerts[0].status = "sent"
    ctx.commit()
    before = incident.zones[0].zone_geojson
    result = ingest(UPDATE)
    assert (result.status, result.outcomes[0].notes) == ("recorded", ["alert_already_sent"])
    ctx.refresh(incident)
    assert incident.zones[0].zone_geojson == before
    assert (incident.title, incident.title_fr) == ("Strong earthquake near Lisbon", "Fort séisme près de Lisbonne")


def test_a_cancel_closes_the_draft_incident(ctx):
    first = ingest(VALID)
    result = ingest(CANCEL)
    assert (result.status, result.incident_id) == ("cancelled", first.incident_id)
    assert ctx.get(Incident, first.incident_id).status == "closed"


def test_the_same_message_twice_acts_once(ctx):
    first = ingest(VALID, "api")
    again = ingest(VALID, "api")
    assert (again.status, again.incident_id) == ("duplicate", first.incident_id)
    assert ctx.scalar(select(func.count()).select_from(CapMessage)) == 1
    assert ctx.scalar(select(func.count()).select_from(Alert)) == 1


def test_an_exercise_is_refused_until_there_is_an_exercise_mode(ctx):
    result = ingest(VALID.replace("<status>Actual</status>", "<status>Exercise</status>"))
    assert [r.code for r in result.reasons] == ["not_actual"]
    assert ctx.scalar(select(func.count()).select_from(Incident)) == 0


@pytest.mark.parametrize("broken", [
    VALID.replace("<scope>Public</scope>", ""),
    VALID.replace("<urgency>Immediate</urgency>", "<urgency>Soon</urgency>", 1),
    VALID.replace("38.9,-9.5 38.5,-9.5</polygon>", "38.9,-9.5</polygon>", 1),
    VALID.replace("2024-05-01T12:00:00-00:00", "2024-05-01T12:00:00"),
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>',
], ids=["missing", "enum", "unclosed", "no_zone", "xxe"])
def test_a_broken_message_is_refused_with_reasons_and_writes_nothing(ctx, broken):
    result = ingest(broken)
    assert result.refused and result.reasons
    assert ctx.scalar(select(func.count()).select_from(Incident)) == 0


@pytest.fixture
def geocodes(tmp_path):
    path = tmp_path / "codes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "1001101", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [[[-53, 47], [-52, 47], [-52, 48], [-53, 47]]]}}]}))
    return path


def test_cap_cp_location_codes_make_the_zone_when_a_mapping_is_configured(app, ctx, geocodes):
    only_codes = VALID.replace(
        "<polygon>38.5,-9.5 38.5,-8.9 38.9,-8.9 38.9,-9.5 38.5,-9.5</polygon>",
        "<geocode><valueName>profile:CAP-CP:Location:0.3</valueName><value>1001101</value></geocode>")
    assert [r.code for r in ingest(only_codes).reasons] == ["no_area"]
    app.config["CAP_GEOCODE_MAP"] = str(geocodes)
    result = ingest(only_codes.replace("quake:1", "quake:9"))
    assert result.status == "opened"
    zone = ctx.get(Incident, result.incident_id).zones[0].zone_geojson
    assert zone["coordinates"][0][0][0] in ([-53.0, 47.0], [-53, 47])
