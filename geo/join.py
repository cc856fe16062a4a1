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

from geo.zones import Zone


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
    """Which of these points are in the zone; for circles a coarse polygon test first, the
    exact geodesic distance only for the survivors."""
    lons = np.asarray(lons, dtype=float).ravel()
    lats = np.asarray(lats, dtype=float).ravel()
    if not zone.circle:
        return zone.contains(lons, lats)
    mask = np.zeros(lons.size, dtype=bool)
    near = np.flatnonzero(zone.candidates(lons, lats))
    if near.size:
        mask[near] = zone.contains(lons[near], lats[near])
    return mask
