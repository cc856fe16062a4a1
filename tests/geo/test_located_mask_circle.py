"""Circles: the quick spherical test must never decide a point the geodesic would not."""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from geo.join import located_mask
from geo.zones import circle

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize("lat, lon", [(0.0, 0.0), (45.0, 2.35), (-33.9, 151.2), (89.5, 10.0),
                                      (-18.1, 179.9), (60.0, -179.99)])
@pytest.mark.parametrize("radius_km", [0.5, 50.0, 300.0, 2000.0])
def test_points_just_inside_and_just_outside_the_edge_are_decided_by_geodesic_distance(
        lat, lon, radius_km):
    azimuths = np.linspace(0.0, 360.0, 36, endpoint=False)
    inside, outside = radius_km * 1000.0 - 1.0, radius_km * 1000.0 + 1.0
    lon_in, lat_in, _ = GEOD.fwd(np.full(36, lon), np.full(36, lat), azimuths, np.full(36, inside))
    lon_out, lat_out, _ = GEOD.fwd(np.full(36, lon), np.full(36, lat), azimuths,
                                   np.full(36, outside))
    zone = circle(lat, lon, radius_km)

    assert located_mask(zone, lon_in, lat_in).all()
    assert not located_mask(zone, lon_out, lat_out).any()


def test_points_well_inside_and_far_outside_a_circle_are_decided_without_doubt():
    zone = circle(48.8566, 2.3522, 300)
    lons = np.array([2.3522, 2.5, 4.8357, 4.3517, 13.405])  # Paris x2, Lyon, Brussels, Berlin
    lats = np.array([48.8566, 48.9, 45.7640, 50.8503, 52.52])

    assert located_mask(zone, lons, lats).tolist() == [True, True, False, True, False]
