"""The in-memory spatial join used with SQLite."""
import numpy as np
import pytest

from geo.join import affected_mask
from geo.zones import circle, parse_geojson

OTTAWA_300 = circle(45.4215, -75.6972, 300)


def test_located_stops_by_point_and_country_stops_by_touched_country():
    mask = affected_mask(
        OTTAWA_300,
        lons=[-73.5673, -79.3832, np.nan, np.nan, -73.5673],
        lats=[45.5017, 43.6532, np.nan, np.nan, 45.5017],
        countries=["CA", "CA", "CA", "FR", "CA"],
        precisions=["point", "city", "country", "country", "city"],
    )
    assert mask.tolist() == [True, False, True, False, True]


def test_country_stop_coordinates_are_ignored():
    mask = affected_mask(OTTAWA_300, [-73.5], [45.5], ["FR"], ["country"])
    assert mask.tolist() == [False]


def test_antimeridian_polygon_join():
    zone = parse_geojson({"type": "Polygon",
                          "coordinates": [[[177, -20], [183, -20], [183, -15], [177, -15], [177, -20]]]})
    mask = affected_mask(zone, [178.44, -179.9, 151.2], [-18.14, -16.5, -33.87], ["FJ", "FJ", "AU"],
                         ["point", "point", "point"])
    assert mask.tolist() == [True, True, False]


def test_empty_input_gives_empty_mask():
    assert affected_mask(OTTAWA_300, [], [], [], []).tolist() == []


def test_mismatched_lengths_are_a_programming_error():
    with pytest.raises(ValueError):
        affected_mask(OTTAWA_300, [1.0, 2.0], [1.0], ["CA"], ["point"])


def test_circle_join_matches_exact_geodesic_test_on_many_points():
    rng = np.random.default_rng(7)
    lons = rng.uniform(-82, -69, 20_000)
    lats = rng.uniform(41, 50, 20_000)
    mask = affected_mask(OTTAWA_300, lons, lats, np.full(lons.size, "CA", dtype=object),
                         np.full(lons.size, "point", dtype=object))
    assert mask.tolist() == OTTAWA_300.contains(lons, lats).tolist()
    assert 0 < mask.sum() < lons.size
