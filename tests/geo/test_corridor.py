"""Corridors: every place within N km of a track, measured on the ellipsoid."""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from geo.corridor import corridor, parse_track
from geo.errors import GeoError
from geo.formats import parse_zone_text
from geo.sources import zone_from_stored

GEOD = Geod(ellps="WGS84")


def offset_points(track, distance_km, at_fraction=0.5):
    """Points `distance_km` either side of the middle of the first leg, perpendicular to it."""
    (lat1, lon1), (lat2, lon2) = track[0], track[1]
    az, _, length = GEOD.inv(lon1, lat1, lon2, lat2)
    lon0, lat0, back = GEOD.fwd(lon1, lat1, az, length * at_fraction)
    heading = back + 180.0
    out = []
    for side in (90.0, -90.0):
        lon, lat, _ = GEOD.fwd(lon0, lat0, heading + side, distance_km * 1000.0)
        out.append((lon, lat))
    return out


def inside(zone, points):
    lons, lats = zip(*points)
    return zone.contains(np.array(lons), np.array(lats)).tolist()


@pytest.mark.parametrize("track", [
    [(45.0, -75.0), (46.0, -70.0)],          # Canada, mid latitudes
    [(0.0, 10.0), (1.0, 12.0)],               # the equator
    [(69.0, 20.0), (70.5, 30.0)],             # the Arctic, where degrees of longitude shrink
    [(-17.8, 177.0), (-16.0, -179.0)],        # Fiji, across the antimeridian
])
def test_corridor_width_is_true_kilometres_at_any_latitude(track):
    zone = corridor(track, 100)
    assert inside(zone, offset_points(track, 99.0)) == [True, True]
    assert inside(zone, offset_points(track, 101.0)) == [False, False]


def test_cyclone_track_from_fiji_to_samoa_covers_both_sides_of_the_antimeridian():
    zone = corridor([(-17.8, 177.0), (-16.0, -179.0), (-14.0, -172.0)], 100)
    assert inside(zone, [(178.44, -18.14), (-171.76, -13.83), (0.0, -15.0)]) == [True, True, False]
    assert zone.geometry.bounds[0] >= -180 and zone.geometry.bounds[2] <= 180


def test_track_ends_are_rounded_by_the_same_distance():
    zone = corridor([(45.0, -75.0), (45.0, -74.0)], 50)
    lon, lat, _ = GEOD.fwd(-74.0, 45.0, 90.0, 49_000)
    lon2, lat2, _ = GEOD.fwd(-74.0, 45.0, 90.0, 51_000)
    assert inside(zone, [(lon, lat), (lon2, lat2)]) == [True, False]


def test_corridor_over_the_pole_covers_the_pole():
    zone = corridor([(85.0, 0.0), (85.0, 180.0)], 600)
    assert inside(zone, [(0.0, 90.0), (90.0, 89.0), (0.0, 70.0)]) == [True, True, False]


def test_corridor_text_and_geojson_track_forms_agree():
    a = parse_zone_text("corridor", "45,-75 46,-70", distance_km=50)
    b = parse_zone_text("corridor", '{"type": "LineString", "coordinates": [[-75, 45], [-70, 46]]}',
                        distance_km="50")
    assert a.geometry.symmetric_difference(b.geometry).area < 1e-9
    assert a.kind == "corridor"


def test_corridor_survives_storage_and_can_be_rebuilt_from_its_track():
    zone = corridor([(45.0, -75.0), (46.0, -70.0)], 50)
    source = zone.source()
    assert source["kind"] == "corridor" and source["distance_km"] == 50
    stored = zone_from_stored(zone.to_geojson(), source)
    rebuilt = zone_from_stored(None, source)
    assert stored.kind == rebuilt.kind == "corridor"
    assert stored.geometry.symmetric_difference(rebuilt.geometry).area < 1e-6


@pytest.mark.parametrize("text, km, code", [
    ("45,-75", 50, "track_too_short"),
    ("", 50, "track_missing"),
    ("45,-75 46;-70", 50, "bad_track"),
    ("95,-75 46,-70", 50, "latitude_out_of_range"),
    ("45,-75 46,-70", 0, "corridor_distance"),
    ("45,-75 46,-70", -3, "corridor_distance"),
    ("45,-75 46,-70", 1001, "corridor_distance"),
    ("45,-75 46,-70", "wide", "corridor_distance"),
    ('{"type": "Polygon", "coordinates": []}', 50, "bad_track"),
    ('{"type": "LineString", "coordinates": [["a", "b"], [1, 2]]}', 50, "bad_coordinates"),
])
def test_bad_corridors_are_refused(text, km, code):
    with pytest.raises(GeoError) as info:
        parse_zone_text("corridor", text, distance_km=km)
    assert info.value.code == code
    assert str(info.value)


def test_track_text_is_latitude_first():
    assert parse_track("45.5,-73.6 46.8,-71.2") == [(45.5, -73.6), (46.8, -71.2)]
