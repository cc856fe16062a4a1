"""The antimeridian: Kiribati and the Aleutians, written split (RFC 7946) or past 180."""
from __future__ import annotations

import numpy as np
import pytest

from geo.zones import circle, parse_geojson

TARAWA = (173.0, 1.33)            # Kiribati, Gilbert Islands (lon, lat)
KIRITIMATI = (-157.4, 1.87)       # Kiribati, Line Islands
CANTON = (-171.7, -2.8)           # Kiribati, Phoenix Islands
ADAK = (-176.66, 51.88)           # Aleutians, west of Alaska
ATTU = (173.18, 52.93)            # Aleutians, past the antimeridian
ANCHORAGE = (-149.9, 61.2)


def inside(zone, *points):
    lons, lats = zip(*points)
    return zone.contains(np.array(lons), np.array(lats)).tolist()


KIRIBATI_PAST_180 = {"type": "Polygon", "coordinates": [[
    [170, -6], [205, -6], [205, 5], [170, 5], [170, -6]]]}
KIRIBATI_SPLIT = {"type": "MultiPolygon", "coordinates": [
    [[[170, -6], [180, -6], [180, 5], [170, 5], [170, -6]]],
    [[[-180, -6], [-155, -6], [-155, 5], [-180, 5], [-180, -6]]]]}
ALEUTIANS_JUMP = {"type": "Polygon", "coordinates": [[
    [170, 50], [-165, 50], [-165, 56], [170, 56], [170, 50]]]}


@pytest.mark.parametrize("data", [KIRIBATI_PAST_180, KIRIBATI_SPLIT], ids=["past-180", "split"])
def test_kiribati_zone_covers_all_three_island_groups_whichever_way_it_is_written(data):
    zone = parse_geojson(data)
    assert inside(zone, TARAWA, KIRITIMATI, CANTON, (0, 0)) == [True, True, True, False]
    assert -180 <= zone.bounds[0] and zone.bounds[2] <= 180


def test_aleutians_zone_written_with_a_jump_covers_both_sides_but_not_anchorage():
    zone = parse_geojson(ALEUTIANS_JUMP)
    assert inside(zone, ADAK, ATTU, ANCHORAGE, (0, 53)) == [True, True, False, False]


@pytest.mark.parametrize("lat", [-71.87, -56.7, 0.0, 52.0])
@pytest.mark.parametrize("lon", [180.0, -180.0, 179.99999])
def test_small_circle_centred_on_the_antimeridian_is_valid_and_holds_both_sides(lat, lon):
    zone = circle(lat, lon, 5)
    assert zone.geometry.is_valid
    assert inside(zone, (179.99, lat), (-179.99, lat)) == [True, True]
    assert inside(zone, (179.0, lat)) == [False]


def test_circle_across_the_aleutians_reaches_both_sides():
    zone = circle(52.4, 179.9, 300)
    assert inside(zone, (178.0, 52.0), (-178.0, 52.0), (0, 52)) == [True, True, False]
