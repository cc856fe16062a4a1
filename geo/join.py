"""The spatial half of "who is in the zone", in memory (the SQLite path).

On PostgreSQL the database does this with PostGIS; with the embedded SQLite database the
registry selects the stops in the time window and hands their coordinates here. Located
stops (a map point or a city) are in when their point is in the zone; stops that only name
a country are in when the zone touches that country. Vectorised so that a million stops
take about a second.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from geo.zones import BOUNDARY_TOLERANCE_M, Zone


def affected_mask(zone: Zone, lons: Any, lats: Any, countries: Any, precisions: Any) -> np.ndarray:
    """Boolean mask, one entry per stop: is that stop affected by the zone?

    `precisions` holds 'point', 'city' or 'country'; for 'country' stops the coordinates
    are ignored (they may be NaN/None) and `countries` (alpha-2) is used instead.
    """
    lons = np.asarray(lons, dtype=float).ravel()
    lats = np.asarray(lats, dtype=float).ravel()
    precisions = np.asarray(precisions, dtype=object).ravel()
    countries = np.asarray(countries, dtype=object).ravel()
    n = lons.size
    if not (lats.size == precisions.size == countries.size == n):
        raise ValueError("lons, lats, countries and precisions must have the same length")
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask

    country_only = precisions == "country"
    located = ~country_only & np.isfinite(lons) & np.isfinite(lats)

    idx = np.flatnonzero(located)
    if idx.size:
        mask[idx] = located_mask(zone, lons[idx], lats[idx])

    cidx = np.flatnonzero(country_only)
    if cidx.size:
        touched = zone.touched_countries()
        if touched:
            values = countries[cidx]
            hit = np.fromiter(
                ((isinstance(c, str) and c.upper() in touched) for c in values),
                dtype=bool, count=cidx.size,
            )
            mask[cidx] = hit
    return mask


def located_mask(zone: Zone, lons: Any, lats: Any) -> np.ndarray:
    """Which of these points are in the zone. For circles a spherical distance settles the
    points clearly inside or outside and the exact (ellipsoidal, slower) geodesic distance
    decides those near the edge."""
    lons = np.asarray(lons, dtype=float).ravel()
    lats = np.asarray(lats, dtype=float).ravel()
    if not zone.circle:
        return zone.contains(lons, lats)
    lat0, lon0, radius_km = zone.circle
    sphere_km = _great_circle_km(lat0, lon0, lats, lons)  # NaN for missing coordinates
    mask = sphere_km * (1.0 + SPHERE_ERROR) < radius_km
    edge = np.flatnonzero(~mask & (sphere_km * (1.0 - SPHERE_ERROR)
                                   <= radius_km + BOUNDARY_TOLERANCE_M / 1000.0))
    if edge.size:
        mask[edge] = zone.contains(lons[edge], lats[edge])
    return mask


# The WGS84 geodesic distance and the great-circle distance on the mean sphere differ by
# less than 0.6 % (the local radius of curvature lies between 6335.4 and 6399.6 km, the
# mean radius is 6371.0 km); with a 1 % margin the sphere only decides clear cases.
SPHERE_ERROR = 0.01
_MEAN_RADIUS_KM = 6371.0088


def _great_circle_km(lat0: float, lon0: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Haversine distance on the mean sphere, in km."""
    p0, p = np.radians(lat0), np.radians(lats)
    dlat = p - p0
    dlon = np.radians(lons - lon0)
    h = np.sin(dlat / 2.0) ** 2 + np.cos(p0) * np.cos(p) * np.sin(dlon / 2.0) ** 2
    return 2.0 * _MEAN_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
