"""Proof by example, many times over: the affected set equals a brute-force oracle.

Hypothesis draws zones (geodesic circles and star-shaped polygons, often near the
antimeridian or a pole, polygons written both split at ±180 and with longitudes past 180),
stops around and far from them with random time windows and precisions, and an incident
window. Both backends (PostGIS SQL and the in-memory SQLite path, via `backend_session`)
must return exactly the travellers the oracle names. The oracle knows nothing of our join:
for circles it measures each point's distance with pyproj's `Geod.inv`; for polygons it
asks shapely, point by point, whether the normalised zone covers it; for country-only stops
it intersects the zone with that country's shape; for time it applies the overlap rule
written out in plain Python.

Points within 1 m of a zone's edge (1e-5 degree for polygons) are left out: there the
answer depends on floating-point rounding that differs between GEOS inside PostGIS,
shapely and the ellipsoidal distance algorithms (PostGIS's vs GeographicLib's), and a
traveller one metre from a line drawn by hand is not a question the data can answer.
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from sqlalchemy import delete, insert

from geo.countries import country_geometry
from geo.errors import GeoError
from geo.zones import circle, parse_geojson
from registry.affected import count_affected, external_ids, find_affected
from registry.models import Stop, Traveller, Trip

GEOD = Geod(ellps="WGS84")
BASE = date(2025, 1, 1)
POINTS = 250
EDGE_M = 1.0
EDGE_DEG = 1e-5
COUNTRY_CODES = ["FR", "FJ", "RU", "US", "KI", "NZ", "AQ", "NO", "SJ", "GL", "CA", "WS", "TO", "BR"]

centres = st.one_of(
    st.tuples(st.floats(-85, 85), st.floats(-180, 180)),                      # anywhere
    st.tuples(st.floats(-60, 60), st.sampled_from([-1, 1]).flatmap(           # antimeridian
        lambda s: st.floats(175, 180).map(lambda x: s * x))),
    st.tuples(st.sampled_from([-1, 1]).flatmap(                               # poles
        lambda s: st.floats(75, 90).map(lambda y: s * y)), st.floats(-180, 180)),
)


@st.composite
def zones(draw):
    lat, lon = draw(centres)
    radius_km = draw(st.floats(5, 2500))
    if draw(st.booleans()):
        return circle(lat, lon, radius_km), (lat, lon, radius_km)
    n = draw(st.integers(3, 12))
    azimuths = np.sort(np.array(draw(st.lists(st.floats(0, 359.9), min_size=n, max_size=n, unique=True))))
    radii = np.array(draw(st.lists(st.floats(0.2, 1.0), min_size=n, max_size=n))) * radius_km * 1000
    lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), azimuths, radii)
    lons = np.asarray(lons)
    if draw(st.booleans()):  # the "past 180" form instead of jumps at the antimeridian
        lons = np.degrees(np.unwrap(np.radians(lons)))
    ring = [[float(x), float(y)] for x, y in zip(lons, lats)]
    ring.append(ring[0])
    try:
        zone = parse_geojson({"type": "Polygon", "coordinates": [ring]})
    except GeoError:
        assume(False)
    return zone, (lat, lon, radius_km)


def sample_points(rng, lat, lon, radius_km):
    """Half around the zone (out to twice its size), a quarter near its edge, a quarter anywhere."""
    near = POINTS // 2
    edge = POINTS // 4
    far = POINTS - near - edge
    az = rng.uniform(0, 360, near + edge)
    dist = np.concatenate([rng.uniform(0, 2 * radius_km, near),
                           radius_km * rng.uniform(0.9, 1.1, edge)]) * 1000
    lons, lats, _ = GEOD.fwd(np.full(near + edge, lon), np.full(near + edge, lat), az, dist)
    anywhere_lat = np.degrees(np.arcsin(rng.uniform(-1, 1, far)))
    anywhere_lon = rng.uniform(-180, 180, far)
    return (np.concatenate([np.asarray(lons), anywhere_lon]),
            np.concatenate([np.asarray(lats), anywhere_lat]))


def oracle_in_zone(zone, shape, lons, lats):
    """(inside, clear-of-the-edge) per point, computed one point at a time."""
    inside = np.zeros(lons.size, dtype=bool)
    clear = np.ones(lons.size, dtype=bool)
    if zone.circle:
        clat, clon, radius_km = zone.circle
        for i, (x, y) in enumerate(zip(lons, lats)):
            _, _, d = GEOD.inv(clon, clat, x, y)
            inside[i] = d <= radius_km * 1000
            clear[i] = abs(d - radius_km * 1000) > EDGE_M
        return inside, clear
    boundary = zone.geometry.boundary
    for i, (x, y) in enumerate(zip(lons, lats)):
        point = shapely.Point(x, y)
        inside[i] = zone.geometry.covers(point)
        clear[i] = boundary.distance(point) > EDGE_DEG
    return inside, clear


def oracle_window(arrival, departure, start, end) -> bool:
    if departure is not None and departure < start:
        return False
    return end is None or arrival <= end


def reset(session):
    for table in (Stop, Trip, Traveller):
        session.execute(delete(table))
    session.commit()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(drawn=zones(), seed=st.integers(0, 2**32 - 1), start_day=st.integers(0, 40),
       length=st.one_of(st.none(), st.integers(0, 20)))
def test_both_backends_agree_with_a_brute_force_oracle(backend_session, drawn, seed, start_day, length):
    zone, (lat, lon, radius_km) = drawn
    rng = np.random.default_rng(seed)
    lons, lats = sample_points(rng, lat, lon, radius_km)
    inside, clear = oracle_in_zone(zone, zone.geometry, lons, lats)
    lons, lats, inside = lons[clear], lats[clear], inside[clear]
    n = lons.size

    start = BASE + timedelta(days=start_day)
    end = None if length is None else start + timedelta(days=length)
    arrivals = [BASE + timedelta(days=int(d)) for d in rng.integers(0, 60, n + 20)]
    stays = rng.integers(0, 30, n + 20)
    departures = [None if rng.random() < 0.1 else a + timedelta(days=int(s))
                  for a, s in zip(arrivals, stays)]
    country_codes = rng.choice(COUNTRY_CODES, 20).tolist()

    expected = set()
    travellers, trips, stops = [], [], []
    for i in range(n + 20):
        tid = i + 1
        travellers.append({"id": tid, "external_id": f"P{tid}", "given_name": "P", "family_name": str(tid)})
        trips.append({"id": tid, "traveller_id": tid})
        located = i < n
        stop = {"id": tid, "trip_id": tid, "traveller_id": tid,
                "arrival": arrivals[i], "departure": departures[i]}
        if located:
            stop.update(precision="point" if i % 3 else "city", country="ZZ",
                        lat=float(lats[i]), lon=float(lons[i]))
            in_place = bool(inside[i])
        else:
            code = country_codes[i - n]
            stop.update(precision="country", country=code, lat=None, lon=None)
            in_place = bool(country_geometry(code).intersects(zone.geometry))
        stops.append(stop)
        if in_place and oracle_window(arrivals[i], departures[i], start, end):
            expected.add(f"P{tid}")

    session = backend_session
    reset(session)
    session.execute(insert(Traveller.__table__), travellers)
    session.execute(insert(Trip.__table__), trips)
    session.execute(insert(Stop.__table__), stops)
    session.commit()

    rows = find_affected(session, zone, start, end)
    got = set(external_ids(session, [r.traveller_id for r in rows]).values())
    assert len(got) == len(rows)  # one row per traveller
    assert got == expected, (sorted(got - expected)[:5], sorted(expected - got)[:5])
    assert count_affected(session, zone, start, end) == len(expected)
    distances = [r.distance_km for r in rows if r.precision == "point"]
    assert distances == sorted(distances)
