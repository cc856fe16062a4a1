"""Every real feed sample goes through the parsers: counts, coordinate order, updates."""
from __future__ import annotations

import json
from datetime import timezone

import pytest
from shapely.geometry import Point

from hazards import cap_index, gdacs, usgs
from hazards.events import FeedError
from tests.hazards.conftest import FEEDS

USGS_FILES = sorted((FEEDS / "usgs").iterdir())
GDACS_FILES = sorted((FEEDS / "gdacs").iterdir())
CAP_INDEX_FILES = sorted((FEEDS / "cap" / "index").iterdir())


@pytest.mark.parametrize("path", USGS_FILES, ids=lambda p: p.name)
def test_every_usgs_sample_parses_to_as_many_events_as_its_metadata_counts(path):
    body = path.read_bytes()
    events = usgs.parse(body)
    data = json.loads(body)
    features = data["features"] if data["type"] == "FeatureCollection" else [data]
    assert len(events) == (data.get("metadata", {}).get("count") or len(features)) == len(features)
    for event, feature in zip(events, features):
        lon, lat, depth = feature["geometry"]["coordinates"][:3]
        assert (event.lat, event.lon, event.depth_km) == (lat, lon, depth)  # [lon, lat, depth]
        assert event.source_id == feature["id"]
        assert event.time.tzinfo is timezone.utc
        assert event.updated >= event.time or feature["properties"]["updated"] < feature["properties"]["time"]


def test_a_usgs_event_keeps_its_pager_alert_magnitude_and_other_network_ids():
    events = {e.source_id: e for e in usgs.parse((FEEDS / "usgs" / "usgs_significant_month_2023-10-11.geojson").read_bytes())}
    afghanistan = events["us6000len8"]
    assert (afghanistan.magnitude, afghanistan.alert_level, afghanistan.kind) == (6.3, "red", "earthquake")
    assert afghanistan.lat == pytest.approx(34.5565) and afghanistan.lon == pytest.approx(62.0449)
    assert afghanistan.status == "active"


def test_a_usgs_update_changes_the_version_and_a_deleted_event_is_marked_deleted():
    data = json.loads((FEEDS / "usgs" / "usgs_significant_week_2017-12-11.geojson").read_bytes())
    before = usgs.parse(json.dumps(data))[0]
    data["features"][0]["properties"]["updated"] += 60000
    data["features"][0]["properties"]["mag"] = 6.1
    after = usgs.parse(json.dumps(data))[0]
    assert after.source_id == before.source_id and after.version != before.version and after.magnitude == 6.1
    data["features"][0]["properties"]["status"] = "deleted"
    assert usgs.parse(json.dumps(data))[0].status == "deleted"


@pytest.mark.parametrize("body", [b"", b"<html>busy</html>", b'{"type": "Topology"}', b"\xff\xfe"])
def test_a_usgs_feed_that_is_not_geojson_is_refused(body):
    with pytest.raises(FeedError):
        usgs.parse(body)


@pytest.mark.parametrize("path", GDACS_FILES, ids=lambda p: p.name)
def test_every_gdacs_sample_parses_with_one_event_per_item(path):
    body = path.read_bytes()
    events = gdacs.parse(body)
    assert len(events) == body.count(b"<item>") > 0
    for event in events:
        event_type = event.source_id.rstrip("0123456789")
        assert event.source == "gdacs" and event.kind == gdacs.KINDS.get(event_type, "other")
        assert event.alert_level in ("green", "orange", "red")
        assert -90 <= event.lat <= 90 and -180 <= event.lon <= 180


def test_the_gdacs_file_with_a_double_encoded_byte_order_mark_parses():
    body = (FEEDS / "gdacs" / "gdacs_rss_2024-12-10_double-encoded-BOM.xml").read_bytes()
    assert body.startswith(b"\xc3\xaf\xc2\xbb\xc2\xbf")
    events = gdacs.parse(body)
    assert [e.kind for e in events] == ["earthquake", "earthquake"]
    assert events[0].updated > events[0].time  # datemodified


def test_gdacs_points_are_latitude_first_and_the_bounding_box_is_read_in_its_own_order():
    events = gdacs.parse((FEEDS / "gdacs" / "gdacs_rss_2019-12-30.xml").read_bytes())
    calvinia = next(e for e in events if e.source_id == "TC1000643")
    assert (calvinia.lat, calvinia.lon) == (-19.4, 59.8)
    # "lonmin lonmax latmin latmax" in the feed; (lon_min, lat_min, lon_max, lat_max) here
    assert calvinia.bbox == pytest.approx((55.0780533046962, -46.7828750315965, 81.0780533046962, -20.7828750315965))
    assert calvinia.kind == "cyclone" and calvinia.countries == ["MU"] and calvinia.magnitude is None


def test_a_new_gdacs_episode_is_an_update_of_the_same_event():
    body = (FEEDS / "gdacs" / "gdacs_rss_7d_2019-12-30.xml").read_bytes()
    first = gdacs.parse(body)[0]
    episode = first.episode
    bumped = body.replace(f"<gdacs:episodeid>{episode}</gdacs:episodeid>".encode(),
                          f"<gdacs:episodeid>{int(episode) + 1}</gdacs:episodeid>".encode(), 1)
    second = gdacs.parse(bumped)[0]
    assert second.source_id == first.source_id and second.version != first.version


def test_gdacs_earthquakes_carry_their_magnitude():
    events = gdacs.parse((FEEDS / "gdacs" / "gdacs_rss_7d_2019-12-30.xml").read_bytes())
    quakes = [e for e in events if e.kind == "earthquake"]
    assert len(quakes) == 100 and all(e.magnitude and 2 < e.magnitude < 10 for e in quakes)


@pytest.mark.parametrize("body", [b"not xml", b'<?xml version="1.0"?><html/>', b"<rss><nochannel/></rss>"])
def test_a_gdacs_feed_that_is_not_rss_is_refused(body):
    with pytest.raises(FeedError):
        gdacs.parse(body)


@pytest.mark.parametrize("path", CAP_INDEX_FILES, ids=lambda p: p.name)
def test_every_cap_index_sample_parses_to_one_entry_per_item(path):
    body = path.read_bytes()
    entries = cap_index.parse(body)
    expected = body.count(b"<entry>") + body.count(b"<item>") + body.count(b"<edxlde:embeddedXMLContent>")
    assert len(entries) == expected > 0
    for entry in entries:
        assert entry.event.source == "cap" and entry.event.source_id
        assert entry.document_url or entry.document  # where the full CAP message is


def test_cap_index_polygons_stay_latitude_first_and_become_zones():
    from hazards.zone import event_zone

    entries = cap_index.parse((FEEDS / "cap" / "index" / "meteoalarm_atom_ireland_2022-12.xml").read_bytes())
    with_polygon = [e.event for e in entries if e.event.cap_polygons]
    assert len(with_polygon) == 72
    event = with_polygon[0]
    lat, lon = map(float, event.cap_polygons[0].split()[0].split(","))
    assert 51 < lat < 56 and -11 < lon < -5  # Ireland: the first number is the latitude
    zone = event_zone(event)
    assert zone.geometry.distance(Point(lon, lat)) < 1e-6
    assert "IE" in zone.touched_countries()


def test_cap_index_entries_keep_updates_severity_and_geocodes():
    entries = cap_index.parse((FEEDS / "cap" / "index" / "meteoalarm_atom_uk_2022-12-08.xml").read_bytes())
    assert sum(e.event.msg_type == "Update" for e in entries) == 15
    nws = cap_index.parse((FEEDS / "cap" / "index" / "nws_atom_us_2018-08-15_cap11.xml").read_bytes())
    first = nws[0].event
    assert (first.severity, first.kind) == ("Severe", "weather")
    assert ("UGC", "AKZ204") in first.geocodes and ("FIPS6", "002185") in first.geocodes
    assert nws[0].document_url.startswith("https://alerts.weather.gov/cap/wwacapget.php")


def test_a_cancel_message_marks_the_event_cancelled():
    body = (FEEDS / "cap" / "index" / "meteoalarm_atom_france_2022-12-08.xml").read_bytes()
    cancelled = cap_index.parse(body.replace(b"<cap:message_type>Alert<", b"<cap:message_type>Cancel<", 1))
    assert cancelled[0].event.status == "cancelled" and cancelled[1].event.status == "active"


def test_the_usgs_cap_index_is_an_earthquake_with_its_magnitude_and_georss_point():
    [entry] = cap_index.parse((FEEDS / "cap" / "index" / "usgs_atom_M5_7day_2010-08-31__google_earthquake_index.atom").read_bytes())
    assert (entry.event.kind, entry.event.magnitude) == ("earthquake", 5.3)
    assert (entry.event.lat, entry.event.lon) == (-16.0529, -173.2739)
    assert entry.document_url == "http://earthquake.usgs.gov/earthquakes/catalogs/cap/us2010apcd"


def test_edxl_distributions_hand_over_each_embedded_cap_alert():
    entries = cap_index.parse((FEEDS / "cap" / "index" / "au_nswrfs_edxlde_2011-10-17__google_bushfire_valid.edxlde").read_bytes())
    assert len(entries) == 7
    for entry in entries:
        assert entry.document.startswith(b"<?xml") and b"alert" in entry.document[:200]
        assert entry.event.cap_circles and entry.event.kind == "wildfire"
        assert entry.event.source_id.startswith("tag:www.rfs.nsw.gov.au")


def test_a_test_or_exercise_entry_is_not_actual():
    body = (FEEDS / "cap" / "index" / "meteoalarm_atom_france_2022-12-08.xml").read_bytes()
    entries = cap_index.parse(body.replace(b"<cap:status>Actual<", b"<cap:status>Exercise<", 1))
    assert [e.actual for e in entries[:2]] == [False, True]
