"""A corridor: every place within N km of a line, such as a cyclone's forecast track.

The width must mean kilometres on the ground at any latitude and across the antimeridian,
so the buffer is not drawn in degrees. The track is cut into short geodesic pieces (at most
`PIECE_KM` long); each piece becomes a "stadium" whose vertices are placed by geodesic
forward computations on the WGS 84 ellipsoid (exactly N km from the track, perpendicular to
it), so the width holds at any latitude. The pieces are unwrapped, split at ±180
and unioned like every other zone, so a track from Fiji to Samoa gives one corridor on both
sides of the antimeridian.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Polygon

from common.i18n import N_
from geo.errors import GeoError
from geo.geometry import polygonal, shift_into_range, split_antimeridian, unwrap_ring
from geo.zones import Zone

GEOD = Geod(ellps="WGS84")
MAX_DISTANCE_KM = 1000.0
MAX_TRACK_POINTS = 5000
PIECE_KM = 50.0
CAP_VERTICES = 65  # vertices per half circle at each end of a piece (every 2.8125°)

_PAIR = re.compile(r"^([-+]?[\d.]+),([-+]?[\d.]+)$")


def parse_track(text) -> list[tuple[float, float]]:
    """A track as (lat, lon) points, from "lat,lon lat,lon ..." or a GeoJSON LineString.

    The GeoJSON form (a LineString, or a Feature holding one) is [longitude, latitude] like
    all GeoJSON; the text form is latitude first, like CAP.
    """
    if isinstance(text, (list, tuple)):
        return [(float(a), float(b)) for a, b in text]
    if isinstance(text, (dict, bytes)) or (isinstance(text, str) and text.lstrip().startswith("{")):
        return _geojson_track(text)
    if not isinstance(text, str) or not text.strip():
        raise GeoError("track_missing",
                       N_("Give the corridor's track as \"lat,lon lat,lon ...\" (at least two points)."))
    points = []
    for token in text.split():
        match = _PAIR.match(token)
        try:
            if not match:
                raise ValueError
            points.append((float(match.group(1)), float(match.group(2))))
        except ValueError:
            raise GeoError(
                "bad_track",
                N_("%(token)s is not a track point: write \"latitude,longitude\" pairs separated "
                   "by spaces."), token=token[:50]) from None
    return points


def _geojson_track(data) -> list[tuple[float, float]]:
    try:
        obj = json.loads(data) if isinstance(data, (str, bytes)) else data
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise GeoError("not_json", N_("The zone is not valid JSON: %(detail)s"),
                       detail="bad LineString") from None
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") != "LineString":
        raise GeoError("bad_track", N_("A corridor's track must be a GeoJSON LineString."))
    coords = obj.get("coordinates")
    try:
        return [(float(p[1]), float(p[0])) for p in coords]
    except (TypeError, ValueError, IndexError):
        raise GeoError("bad_coordinates",
                       N_("The zone's coordinates must be numbers, as [longitude, latitude] positions.")
                       ) from None


def corridor(track: list[tuple[float, float]], distance_km: float) -> Zone:
    """Every place within `distance_km` of the track, a list of (lat, lon) points."""
    distance_km = _check_distance(distance_km)
    points = _check_track(track)
    pieces = []
    for (lat1, lon1), (lat2, lon2) in zip(points, points[1:]):
        for a, b in _short_pieces(lat1, lon1, lat2, lon2):
            pieces.append(_piece_buffer(a, b, distance_km))
    if len(points) == 1 or not pieces:
        lat, lon = points[0]
        pieces.append(_piece_buffer((lat, lon), (lat, lon), distance_km))
    geom = split_antimeridian(shapely.union_all(pieces))
    geom = polygonal(shapely.make_valid(geom)) if not geom.is_valid else geom
    return Zone(geometry=geom, origin={
        "kind": "corridor", "distance_km": distance_km,
        "track": [[round(lat, 6), round(lon, 6)] for lat, lon in points],
    })


def _check_distance(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise GeoError("corridor_distance",
                       N_("The corridor's distance must be a number of kilometres."))
    if not 0.0 < number <= MAX_DISTANCE_KM:
        raise GeoError(
            "corridor_distance",
            N_("The corridor's distance must be more than 0 and at most %(max)d km; it is %(km)s km."),
            km=number, max=int(MAX_DISTANCE_KM))
    return number


def _check_track(track) -> list[tuple[float, float]]:
    points = list(track or [])
    if len(points) < 2:
        raise GeoError("track_too_short",
                       N_("A corridor's track needs at least two points; it has %(count)d."),
                       count=len(points))
    if len(points) > MAX_TRACK_POINTS:
        raise GeoError("too_many_vertices",
                       N_("The zone has too many vertices (more than %(limit)d); simplify it."),
                       limit=MAX_TRACK_POINTS)
    out = []
    for lat, lon in points:
        for v in (lat, lon):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise GeoError("bad_track", N_("The corridor's track points must be numbers."))
        if not -90.0 <= lat <= 90.0:
            raise GeoError(
                "latitude_out_of_range",
                N_("Latitude %(lat)s is outside -90 to 90. Track points are \"latitude,longitude\": "
                   "check the order."), lat=lat)
        if abs(lon) > 540.0:
            raise GeoError("longitude_out_of_range",
                           N_("Longitude %(lon)s is not a longitude on this planet."), lon=lon)
        out.append((float(lat), (float(lon) + 180.0) % 360.0 - 180.0 if abs(lon) > 180 else float(lon)))
    return out


def _short_pieces(lat1, lon1, lat2, lon2):
    """The geodesic from 1 to 2 cut into pieces of at most PIECE_KM."""
    _, _, length = GEOD.inv(lon1, lat1, lon2, lat2)
    n = max(1, int(math.ceil(length / 1000.0 / PIECE_KM)))
    if n == 1:
        return [((lat1, lon1), (lat2, lon2))]
    inner = GEOD.npts(lon1, lat1, lon2, lat2, n - 1)
    nodes = [(lat1, lon1)] + [(lat, lon) for lon, lat in inner] + [(lat2, lon2)]
    return list(zip(nodes, nodes[1:]))


def _piece_buffer(a, b, distance_km: float) -> Polygon:
    """One short geodesic piece as a "stadium": half circles around both ends, joined.

    Every vertex is placed with a geodesic forward computation (exactly `distance_km` from
    an end, perpendicular to the track there), so the width is true at any latitude; the
    sides, at most PIECE_KM long, are straight in lon/lat, which is within metres of the
    true offset line at that length.
    """
    (lat1, lon1), (lat2, lon2) = a, b
    if (lat1, lon1) == (lat2, lon2):
        az1 = az2 = 0.0
        length = 0.0
    else:
        az1, back, length = GEOD.inv(lon1, lat1, lon2, lat2)
        az2 = back + 180.0  # the track's heading when it reaches b
    half = np.linspace(-90.0, 90.0, CAP_VERTICES)
    lons = np.concatenate([np.full(CAP_VERTICES, lon2), np.full(CAP_VERTICES, lon1)])
    lats = np.concatenate([np.full(CAP_VERTICES, lat2), np.full(CAP_VERTICES, lat1)])
    azimuths = np.concatenate([az2 + half, az1 + 180.0 + half])
    out_lons, out_lats, _ = GEOD.fwd(lons, lats, azimuths, np.full(lons.size, distance_km * 1000.0))
    ring = list(zip(np.asarray(out_lons).tolist(), np.asarray(out_lats).tolist()))
    ring.append(ring[0])
    pole = None
    for pole_lat in (90.0, -90.0):
        _, _, d = GEOD.inv(lon1, lat1, 0.0, pole_lat)
        if d <= distance_km * 1000.0 + length:
            pole = pole_lat
    poly = Polygon(unwrap_ring(ring, pole_hint=pole))
    if not poly.is_valid:
        poly = polygonal(shapely.make_valid(poly))
    return split_antimeridian(shift_into_range(poly))
