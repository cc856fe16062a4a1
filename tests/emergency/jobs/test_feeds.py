"""Feed polling beyond the summaries: a CAP index entry completed from its CAP document
(shape, English and French titles), refused or non-Actual documents, and GDACS events that
age out of the feed without being withdrawn."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from emergency.core.models import Alert, AuditEntry, Hazard, Incident
from tests.emergency.services.test_hazards import add_feed, count, make_rule, poll
from tests.hazards.fake_feeds import FakeFeeds

CAP = Path(__file__).resolve().parents[2] / "data" / "cap"
GDACS = Path(__file__).resolve().parents[2] / "data" / "feeds" / "gdacs" / "gdacs_rss_2019-12-30.xml"
WIND = CAP / "ca_naads_2019-01-09_wind_PelmorexNAADS_WindWarning.xml"
WIND_ID = "urn:oid:2.49.0.1.124.3936999913.2019"
QUAKE = CAP / "us_usgs_2012-10-14_earthquake_ISO-8859-1_circle__google_earthquake-iso8859-1.cap"
QUAKE_ID = "USGS-earthquakes-usB000D5T4.3947362.7.20121014T225304.360Z.0"


@pytest.fixture
def fake_feeds():
    feeds = FakeFeeds().start()
    yield feeds
    feeds.stop()


def index(entry_id: str, document_url: str | None, title: str = "Wind warning", extra: str = "") -> bytes:
    """An Atom CAP index with one entry whose summary has a geocode but no shape."""
    link = f'<link href="{document_url}" type="application/cap+xml"/>' if document_url else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <id>tag:example.org,2019:index</id><title>Index</title><updated>2019-01-09T02:17:03Z</updated>
  <entry>
    <id>{entry_id}</id><title>{title}</title>
    <published>2019-01-09T02:17:03Z</published><updated>2019-01-09T02:17:03Z</updated>
    <cap:event>wind</cap:event><cap:status>Actual</cap:status><cap:msgType>Alert</cap:msgType>
    <cap:geocode><valueName>profile:CAP-CP:Location:0.3</valueName><value>1110</value></cap:geocode>
    {link}{extra}
  </entry>
</feed>""".encode()


def hazard(app, source_id: str) -> Hazard:
    from emergency.core.database import db_session

    with app.app_context():
        row = db_session().scalar(select(Hazard).where(Hazard.source_id == source_id))
        if row is not None:
            db_session().expunge(row)
        return row


def test_a_cap_index_entry_takes_its_zone_and_both_titles_from_its_linked_document(app, fake_feeds):
    make_rule(app, name="CAP weather", kinds=[], min_magnitude=None, source="cap", action="draft", min_affected=0)
    document = fake_feeds.publish("/alerts/wind.xml", WIND.read_bytes())
    add_feed(app, fake_feeds.publish("/index.atom", index(WIND_ID, document)), "cap_index", "NAADS")
    poll(app)
    row = hazard(app, WIND_ID)
    assert row.zone_source["kind"] == "polygon" and row.zone_source["format"] == "cap"
    assert row.summary["titles"] == {"en": "wind warning in effect", "fr": "avertissement de vent en vigueur"}
    assert row.severity == "Moderate" and row.ends_at is not None  # what the summary left out
    with app.app_context():
        from emergency.core.database import db_session

        incident = db_session().get(Incident, row.incident_id)
        assert (incident.title_en, incident.title_fr) == (
            "Severe weather: wind warning in effect", "Intempéries\u00a0: avertissement de vent en vigueur")
        alert = db_session().scalar(select(Alert).where(Alert.incident_id == incident.id))
        assert "avertissement de vent en vigueur" in alert.subject_fr and "wind warning in effect" in alert.subject_en
    # the index changes (a new ETag) but the entry does not: its document is not fetched again
    fake_feeds.publish("/index.atom", index(WIND_ID, document) + b"\n")
    poll(app)
    assert len(fake_feeds.hits("/alerts/wind.xml")) == 1


def test_a_document_circle_becomes_a_geodesic_circle_zone(app, fake_feeds):
    body = QUAKE.read_bytes().replace(b"<circle>12.747,-88.783 0.0</circle>", b"<circle>12.747,-88.783 100.0</circle>")
    document = fake_feeds.publish("/alerts/quake.cap", body)
    add_feed(app, fake_feeds.publish("/index.atom", index(QUAKE_ID, document, "M 4.6 - El Salvador")), "cap_index", "USGS CAP")
    poll(app)
    row = hazard(app, QUAKE_ID)
    assert row.zone_source == {"kind": "circle", "lat": 12.747, "lon": -88.783, "radius_km": 100.0}


def test_a_refused_document_leaves_the_summary_event_and_logs_the_reasons(app, fake_feeds, caplog):
    broken = WIND.read_bytes().replace(b"<msgType>Update</msgType>", b"<msgType>Rumour</msgType>")
    document = fake_feeds.publish("/alerts/wind.xml", broken)
    add_feed(app, fake_feeds.publish("/index.atom", index(WIND_ID, document)), "cap_index", "NAADS")
    with caplog.at_level(logging.WARNING, logger="emergency.jobs.feeds"):
        poll(app)
    row = hazard(app, WIND_ID)
    assert row is not None and row.title == "Wind warning" and row.zone_source is None
    assert "titles" not in row.summary or row.summary["titles"] == {}
    assert any("refused" in r.getMessage() and "msgType" in r.getMessage() for r in caplog.records)


def test_an_unreachable_document_leaves_the_summary_event(app, fake_feeds):
    add_feed(app, fake_feeds.publish("/index.atom", index(WIND_ID, fake_feeds.url("/alerts/missing.xml"))), "cap_index", "NAADS")
    poll(app)
    assert hazard(app, WIND_ID).title == "Wind warning"


def test_a_document_that_is_not_an_actual_alert_triggers_nothing(app, fake_feeds):
    test_message = WIND.read_bytes().replace(b"<status>Actual</status>", b"<status>Test</status>")
    document = fake_feeds.publish("/alerts/wind.xml", test_message)
    add_feed(app, fake_feeds.publish("/index.atom", index(WIND_ID, document)), "cap_index", "NAADS")
    poll(app)
    assert hazard(app, WIND_ID) is None


def test_an_embedded_document_is_read_without_fetching_anything(app, fake_feeds):
    from tests.hazards.conftest import FEEDS

    edxl = (FEEDS / "cap" / "index" / "au_nswrfs_edxlde_2011-10-17__google_bushfire_valid.edxlde").read_bytes()
    add_feed(app, fake_feeds.publish("/edxl.xml", edxl), "cap_index", "NSW RFS")
    poll(app)
    assert count(app, Hazard, Hazard.source == "cap") == edxl.count(b"<edxlde:embeddedXMLContent>") == 7
    assert [p for p, _ in fake_feeds.requests] == ["/edxl.xml"]


def test_a_gdacs_event_that_ages_out_of_the_feed_is_not_withdrawn(app, fake_feeds):
    body = GDACS.read_bytes()
    url = fake_feeds.publish("/gdacs.xml", body)
    add_feed(app, url, "gdacs", "GDACS")
    poll(app)
    before = count(app, Hazard, Hazard.source == "gdacs", Hazard.status == "active")
    # the next version of the feed lists no event at all: GDACS dropped them as they aged
    start, end = body.index(b"<item>"), body.rindex(b"</item>") + len(b"</item>")
    fake_feeds.publish("/gdacs.xml", body[:start] + body[end:])
    poll(app)
    assert before == 16
    assert count(app, Hazard, Hazard.source == "gdacs", Hazard.status == "active") == 16
    assert count(app, AuditEntry, AuditEntry.action == "trigger.withdrawn") == 0
