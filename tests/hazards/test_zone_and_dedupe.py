"""Event -> zone (magnitude model, shapes, boxes, corridors, geocodes) and the same disaster
from two sources."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from shapely.geometry import Point

from hazards import dedupe, gdacs, usgs
from hazards.events import HazardEvent
from hazards.zone import DEFAULT, ZoneModel, bbox_zone, event_zone
from tests.hazards.conftest import FEEDS

T0 = datetime(2023, 10, 11, 0, 0, tzinfo=timezone.utc)


def quake(source="usgs", magnitude=6.0, lat=34.5, lon=62.0, seconds=0, **kw) -> HazardEvent:
    return HazardEvent(source=source, source_id=f"{source}-1", kind="earthquake", title="M", time=T0 + timedelta(seconds=seconds),
                       lat=lat, lon=lon, magnitude=magnitude, **kw)


@pytest.mark.parametrize("magnitude, radius", [(5.0, 50), (6.0, 100), (7.0, 200), (8.0, 400), (9.0, 800),
                                               (3.0, 25), (10.0, 1000), (None, 50)])
def test_the_magnitude_model_doubles_the_radius_per_unit_within_its_bounds(magnitude, radius):
    assert DEFAULT.radius_km(magnitude) == pytest.approx(radius)


def test_the_magnitude_model_is_configurable():
    model = ZoneModel.from_setting("40,3,10,500")
    assert model.radius_km(6) == 120 and model.radius_km(8) == 500 and model.radius_km(2) == 10
    with pytest.raises(ValueError):
        ZoneModel.from_setting("40")
    with pytest.raises(ValueError):
        ZoneModel.from_setting("40,-2")


def test_an_earthquake_gets_a_geodesic_circle_from_its_magnitude_even_with_a_gdacs_box():
    event = quake(magnitude=7.0, bbox=(58.0, 30.5, 66.0, 38.5))
    zone = event_zone(event)
    assert zone.circle == (34.5, 62.0, 200.0)


def test_an_event_with_a_shape_keeps_it():
    shape = {"type": "Polygon", "coordinates": [[[10, 10], [11, 10], [11, 11], [10, 11], [10, 10]]]}
    zone = event_zone(quake(shape=shape))
    assert zone.circle is None and zone.geometry.bounds == (10, 10, 11, 11)


def test_a_gdacs_cyclone_without_a_track_uses_its_bounding_box():
    events = gdacs.parse((FEEDS / "gdacs" / "gdacs_rss_2019-12-30.xml").read_bytes())
    calvinia = next(e for e in events if e.source_id == "TC1000643")
    zone = event_zone(calvinia)
    assert zone.geometry.bounds == pytest.approx((55.0780533046962, -46.7828750315965, 81.0780533046962, -20.7828750315965))


def test_a_bounding_box_past_the_antimeridian_wraps():
    events = gdacs.parse((FEEDS / "gdacs" / "gdacs_rss_2024-12-10_double-encoded-BOM.xml").read_bytes())
    box_event = replace(events[0], kind="flood")  # keep its box (-181.2 .. -173.2)
    zone = event_zone(box_event)
    assert zone.geometry.contains(Point(179.5, 50)) and zone.geometry.contains(Point(-175, 50))
    assert bbox_zone((170, -20, -170, -10)).geometry.contains(Point(179.9, -15))


def test_a_cyclone_track_becomes_a_corridor_of_the_configured_width():
    track = [(-17.0, 178.0), (-14.0, -172.0)]  # Fiji to Samoa, across the antimeridian
    event = HazardEvent(source="gdacs", source_id="TC1", kind="cyclone", title="TC", time=T0, track=track,
                        bbox=(170, -20, -170, -10))
    zone = event_zone(event, ZoneModel(corridor_km=100))
    assert zone.kind == "corridor"
    assert zone.contains([180.0 - 0.01], [-15.9])[0]
    assert not zone.contains([178.0], [-19.0])[0]  # ~220 km south of the start


def test_cap_circles_and_polygons_are_latitude_first():
    event = HazardEvent(source="cap", source_id="x", kind="earthquake", title="Q", time=T0,
                        cap_circles=["32.9525,-115.5527 30"])
    zone = event_zone(event)
    assert zone.circle == (32.9525, -115.5527, 30.0)


def test_mapped_geocodes_give_a_zone_and_unmapped_ones_none():
    event = HazardEvent(source="cap", source_id="x", kind="weather", title="W", time=T0,
                        geocodes=[("profile:CAP-CP:Location:0.3", "4810022")])
    assert event_zone(event) is None
    square = {"type": "Polygon", "coordinates": [[[-114, 53], [-113, 53], [-113, 54], [-114, 54], [-114, 53]]]}
    model = ZoneModel(geocodes={"profile:CAP-CP:Location:0.3:4810022": square})
    assert event_zone(event, model).geometry.bounds == (-114, 53, -113, 54)
    by_country = ZoneModel(geocodes={"profile:CAP-CP:Location:0.3:4810022": ["CA"]})
    assert event_zone(event, by_country).touched_countries() == frozenset({"CA"})


def test_every_usgs_and_gdacs_sample_event_gets_a_zone():
    for path in list((FEEDS / "usgs").iterdir()):
        for event in usgs.parse(path.read_bytes())[:200]:
            assert event_zone(event) is not None
    for path in list((FEEDS / "gdacs").iterdir()):
        for event in gdacs.parse(path.read_bytes()):
            assert event_zone(event) is not None


def test_usgs_and_gdacs_reports_of_one_earthquake_are_the_same_disaster():
    a = quake("usgs", 6.3)
    b = quake("gdacs", 6.0, lat=34.9, lon=62.3, seconds=40)
    assert dedupe.same_disaster(a, b) and dedupe.same_disaster(b, a)


@pytest.mark.parametrize("change", [
    {"seconds": 121},  # too far apart in time
    {"lat": 35.5},  # 111 km north
    {"magnitude": 5.6},  # 0.6 apart
    {"source": "usgs"},  # the same source never merges
    {"kind": "flood"},
])
def test_reports_apart_in_time_place_or_magnitude_are_different_disasters(change):
    kind = change.pop("kind", "earthquake")
    other = replace(quake(**{"source": "gdacs", **change}), kind=kind)
    assert not dedupe.same_disaster(quake("usgs", 6.2), other)


def test_the_real_gdacs_and_usgs_samples_of_one_week_match_their_shared_earthquakes():
    gdacs_events = gdacs.parse((FEEDS / "gdacs" / "gdacs_rss_2019-12-30.xml").read_bytes())
    for g in gdacs_events:
        if g.kind == "earthquake":
            same = replace(g, source="usgs", source_id="us1", time=g.time + timedelta(seconds=3), magnitude=g.magnitude + 0.2)
            assert dedupe.best_match(same, [("g", g)]) == "g"


def test_best_match_picks_the_nearest_in_time():
    event = quake("usgs")
    assert dedupe.best_match(event, [("late", quake("gdacs", seconds=90)), ("close", quake("gdacs", seconds=5))]) == "close"
    assert dedupe.best_match(event, []) is None
