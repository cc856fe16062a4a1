"""Zones that cover a pole: a ring around it, a cap written per RFC 7946, a circle over it."""
from __future__ import annotations

import numpy as np
import pytest

from geo.zones import circle, parse_geojson


def inside(zone, *points):
    lons, lats = zip(*points)
    return zone.contains(np.array(lons), np.array(lats)).tolist()


def ring_around(lat, lons):
    ring = [[lon, lat] for lon in lons]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def test_ring_going_round_the_north_pole_covers_the_cap_to_the_pole():
    zone = parse_geojson(ring_around(80, [0, 90, 180, -90]))
    assert inside(zone, (0, 90), (45, 85), (-135, 81), (10, 79)) == [True, True, True, False]


def test_ring_written_with_longitudes_past_180_covers_the_cap():
    coords = [[lon, 80] for lon in range(0, 361, 30)]
    zone = parse_geojson({"type": "Polygon", "coordinates": [coords]})
    assert inside(zone, (0, 90), (123, 85), (10, 79)) == [True, True, False]


def test_ring_going_round_the_south_pole_covers_the_southern_cap():
    zone = parse_geojson(ring_around(-70, [0, -90, 180, 90]))
    assert inside(zone, (0, -90), (60, -75), (0, -60)) == [True, True, False]


def test_rfc7946_polar_cap_rectangle_is_accepted():
    zone = parse_geojson({"type": "Polygon", "coordinates": [
        [[-180, 80], [180, 80], [180, 90], [-180, 90], [-180, 80]]]})
    assert inside(zone, (0, 90), (179.9, 85), (-179.9, 85), (0, 79)) == [True, True, True, False]


@pytest.mark.parametrize("lat, pole", [(89.0, 90.0), (-88.0, -90.0)])
def test_circle_over_a_pole_contains_the_pole_and_all_longitudes_near_it(lat, pole):
    zone = circle(lat, 0.0, 500)
    points = [(lon, pole - np.sign(pole) * 0.5) for lon in (-179, -90, 0, 90, 179)]
    assert all(inside(zone, (0.0, pole), *points))
    assert zone.geometry.is_valid


def test_circle_near_a_pole_is_geodesic_not_stretched():
    zone = circle(80.0, 30.0, 200)
    # 200 km is ~1.8 degrees of latitude, but ~10 degrees of longitude at 80 N
    assert inside(zone, (30.0, 81.7), (30.0, 81.9), (39.0, 80.0), (41.0, 80.0)) == [True, False, True, False]
