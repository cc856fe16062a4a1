"""Incident zones: what a coordinator draws, uploads or types, made safe to compute with.

A zone arrives as GeoJSON (drawn on a map, uploaded, sent by a trigger system), as a
circle (centre and radius), or in one of the forms `geo.formats` reads (KML, Shapefile,
GeoPackage, WKT, CAP, countries, a corridor around a track). Whatever its form, it becomes a `Zone` whose geometry is a
valid lon/lat MultiPolygon in WGS 84 with every longitude inside [-180, 180]: zones that
cross the antimeridian (Fiji, Kiribati, the Aleutians) are split there, so a plain planar
test or a PostGIS `ST_Intersects` gives the right answer. Bad input is refused with a
`GeoError` that says what is wrong; a self-crossing outline is repaired and the repair is
reported (`Zone.note`) rather than silently changing who gets alerted.

Circles are kept as circles: `contains` measures the geodesic distance on the WGS 84
ellipsoid, so "300 km around Ottawa" means 300 km, at any latitude. Their polygon is only
for the map and for coarse filtering.
"""
from __future__ import annotations

import json
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from common.i18n import N_
from geo.errors import GeoError
from geo.geometry import align_ring, polygonal, shift_into_range, split_antimeridian, unwrap_ring

GEOD = Geod(ellps="WGS84")
# Geodesic distances are the largest cost of a large affected set (about 0.8 µs a point:
# 60 ms for a continent's 75k stops). pyproj computes them without holding the GIL, so a
# large set is cut into chunks computed side by side, one per core (at most 4).
_GEODESIC_CHUNK = 20_000
_geodesic_pool: ThreadPoolExecutor | None = None
_geodesic_pool_lock = threading.Lock()


def _forget_pool_in_child() -> None:
    """A forked child (an RQ job) has none of its parent's threads: it makes its own pool."""
    global _geodesic_pool, _geodesic_pool_lock
    _geodesic_pool, _geodesic_pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def geodesic_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Geodesic distances (WGS84, metres) from (lon, lat) to each point."""
    n = lons.size
    parts = min(4, os.cpu_count() or 1, -(-n // _GEODESIC_CHUNK))
    if parts <= 1:
        return _inverse_m(lon, lat, lons, lats)
    bounds = np.linspace(0, n, parts + 1).astype(int)
    others = [_pool().submit(_inverse_m, lon, lat, lons[b0:b1], lats[b0:b1])
              for b0, b1 in zip(bounds[1:-1], bounds[2:])]
    first = _inverse_m(lon, lat, lons[:bounds[1]], lats[:bounds[1]])  # this thread's share
    return np.concatenate([first, *(future.result() for future in others)])


def _inverse_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    n = lons.size
    return np.asarray(GEOD.inv(np.full(n, lon), np.full(n, lat), lons, lats)[2], dtype=float)


def _pool() -> ThreadPoolExecutor:
    global _geodesic_pool
    with _geodesic_pool_lock:
        if _geodesic_pool is None:
            _geodesic_pool = ThreadPoolExecutor(3, thread_name_prefix="geodesic")
        return _geodesic_pool

MAX_VERTICES = 100_000
# Joining many small separate areas costs far more than their vertices suggest (GEOS's union
# of 10,000 squares in a row takes seconds), so a zone holds at most this many areas.
MAX_POLYGONS = 2_500
MAX_BYTES = 20 * 1024 * 1024
MAX_RADIUS_KM = 5000.0
CIRCLE_VERTICES = 256
BOUNDARY_TOLERANCE_M = 1e-3  # a point exactly on a circle's edge is inside

ACCEPTED_CRS = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:6.6:4326",
    "epsg:4326",
    "crs84",
    "ogc:crs84",
    "wgs84",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "http://www.opengis.net/def/crs/epsg/0/4326",
}

NOTE_REPAIRED = N_(
    "The zone's outline crossed itself; it was repaired into a valid area. "
    "Check the zone on the map before sending an alert."
)
NOTE_REPROJECTED = N_(
    "The zone was given in another coordinate reference system and was converted to "
    "WGS 84 longitude/latitude. Check the zone on the map before sending an alert."
)
NOTE_IGNORED = N_(
    "Points and lines in the zone were ignored: only its areas make the zone."
)


# --------------------------------------------------------------------------- Zone


@dataclass(eq=False)
class Zone:
    """A valid, antimeridian-split area; for circles also the exact centre and radius.

    `origin` says how a non-circle zone was given (format, reprojected CRS, country codes,
    corridor track) so `source()` can store it and `from_stored` rebuild the same zone.
    `note` is the first of `notes`: parameter-free English messages (marked with `N_`) that
    tell the coordinator what was changed or ignored; the web layer translates each one.
    """

    geometry: MultiPolygon
    circle: tuple[float, float, float] | None = None  # (lat, lon, radius_km)
    repaired: bool = False
    note: str | None = None
    origin: dict | None = None
    notes: tuple[str, ...] = ()
    _prefilter_geom: BaseGeometry | None = field(default=None, repr=False)
    _centre_cache: tuple[float, float] | None = field(default=None, repr=False)
    _touched: frozenset | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.note and self.note not in self.notes:
            self.notes = (self.note, *self.notes)
        if self.notes and not self.note:
            self.note = self.notes[0]

    # -- description ------------------------------------------------------------

    @property
    def kind(self) -> str:
        """'circle', 'polygon', 'countries' or 'corridor'."""
        if self.circle:
            return "circle"
        kind = (self.origin or {}).get("kind")
        return kind if kind in ("countries", "corridor") else "polygon"

    def touched_countries(self) -> frozenset:
        """Codes of the countries whose country-only stops this zone reaches.

        A zone made of countries reaches exactly those countries (not the neighbours its
        borders touch); any other zone reaches every country it intersects.
        """
        if self._touched is None:
            if self.kind == "countries":
                self._touched = frozenset(self.origin["codes"])
            else:
                from geo.countries import countries_intersecting

                self._touched = frozenset(countries_intersecting(self.geometry))
        return self._touched

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the split geometry."""
        return tuple(self.geometry.bounds)  # type: ignore[return-value]

    def to_geojson(self) -> dict:
        """The normalised geometry as a GeoJSON MultiPolygon (plain lists, JSON-ready)."""
        return _plain(mapping(self.geometry))

    def source(self) -> dict:
        """How the zone was given, to store beside the geometry and rebuild it exactly."""
        if self.circle:
            lat, lon, radius = self.circle
            return {"kind": "circle", "lat": lat, "lon": lon, "radius_km": radius}
        source = {"kind": "polygon", **(self.origin or {})}
        source.update({
            "vertices": int(shapely.get_num_coordinates(self.geometry)),
            "repaired": self.repaired,
            "note": self.note,
            "notes": list(self.notes),
        })
        return source


    # -- tests --------------------------------------------------------------------

    def contains(self, lons: Any, lats: Any) -> np.ndarray:
        """Which points are in the zone (edge included); circles by geodesic distance."""
        lons, lats = _as_arrays(lons, lats)
        result = np.zeros(lons.shape, dtype=bool)
        ok = np.isfinite(lons) & np.isfinite(lats)
        if not ok.any():
            return result
        if self.circle:
            idx = np.flatnonzero(ok)
            dist = self._geodesic_m(lons[idx], lats[idx])
            result[idx] = dist <= self.circle[2] * 1000.0 + BOUNDARY_TOLERANCE_M
            return result
        idx = np.flatnonzero(ok)
        x = _wrap_lon(lons[idx])
        y = lats[idx]
        result[idx] = self._covers_xy(self.geometry, x, y)
        return result

    def candidates(self, lons: Any, lats: Any) -> np.ndarray:
        """A cheap superset of `contains` (never misses a point inside the zone)."""
        lons, lats = _as_arrays(lons, lats)
        result = np.zeros(lons.shape, dtype=bool)
        ok = np.isfinite(lons) & np.isfinite(lats)
        idx = np.flatnonzero(ok)
        if idx.size:
            result[idx] = self._covers_xy(self.prefilter_geometry, _wrap_lon(lons[idx]), lats[idx])
        return result

    @property
    def prefilter_geometry(self) -> BaseGeometry:
        """For circles a slightly larger polygon (a chord never cuts a point off)."""
        if self._prefilter_geom is None:
            if self.circle:
                lat, lon, radius = self.circle
                self._prefilter_geom = _circle_polygon(lat, lon, radius * 1.01 + 1.0)
            else:
                self._prefilter_geom = self.geometry
            shapely.prepare(self._prefilter_geom)
        return self._prefilter_geom

    def distance_km(self, lons: Any, lats: Any) -> np.ndarray:
        """Geodesic distance from the circle's centre, or from the zone's central point."""
        lons, lats = _as_arrays(lons, lats)
        out = np.full(lons.shape, np.nan)
        ok = np.isfinite(lons) & np.isfinite(lats)
        if ok.any():
            out[ok] = self._geodesic_m(lons[ok], lats[ok]) / 1000.0
        return out

    def centre(self) -> tuple[float, float]:
        """(lat, lon): the circle's centre, or a central point inside the polygon zone."""
        if self.circle:
            return (self.circle[0], self.circle[1])
        if self._centre_cache is None:
            self._centre_cache = _central_point(self.geometry)
        return self._centre_cache

    # -- helpers ------------------------------------------------------------------

    def _geodesic_m(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        clat, clon = self.centre()
        return geodesic_m(clon, clat, lons, lats)

    def _covers_xy(self, geom: BaseGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if not shapely.is_prepared(geom):
            shapely.prepare(geom)
        minx, miny, maxx, maxy = geom.bounds
        inside = np.zeros(x.shape, dtype=bool)
        near = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        # -180 and 180 are one meridian: a zone split there holds it on either side
        edge = np.abs(x) == 180.0
        near |= edge
        idx = np.flatnonzero(near)
        if idx.size:
            inside[idx] = shapely.intersects_xy(geom, x[idx], y[idx])
            e = np.flatnonzero(edge & ~inside)
            if e.size:
                inside[e] = shapely.intersects_xy(geom, -x[e], y[e])
        return inside


# --------------------------------------------------------------------------- circles


def circle(lat: float, lon: float, radius_km: float) -> Zone:
    """A geodesic circle: `radius_km` on the WGS 84 ellipsoid around (lat, lon)."""
    lat = _finite(lat, "circle_latitude", N_("The circle's latitude must be a number."))
    lon = _finite(lon, "circle_longitude", N_("The circle's longitude must be a number."))
    radius_km = _finite(radius_km, "circle_radius", N_("The circle's radius must be a number."))
    if not -90.0 <= lat <= 90.0:
        raise GeoError("circle_latitude",
                       N_("The circle's latitude %(lat)s is outside -90 to 90."), lat=lat)
    if not -180.0 <= lon <= 180.0:
        raise GeoError("circle_longitude",
                       N_("The circle's longitude %(lon)s is outside -180 to 180."), lon=lon)
    if not 0.0 < radius_km <= MAX_RADIUS_KM:
        raise GeoError(
            "circle_radius",
            N_("The circle's radius must be more than 0 and at most %(max)d km; it is %(radius)s km."),
            radius=radius_km, max=int(MAX_RADIUS_KM),
        )
    geom = _circle_polygon(lat, lon, radius_km)
    return Zone(geometry=geom, circle=(lat, lon, radius_km))


def _circle_polygon(lat: float, lon: float, radius_km: float) -> MultiPolygon:
    az = np.linspace(0.0, 360.0, CIRCLE_VERTICES, endpoint=False)
    n = az.size
    lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius_km * 1000.0))
    ring = list(zip(np.asarray(lons).tolist(), np.asarray(lats).tolist()))
    ring.append(ring[0])
    pole = None
    for pole_lat in (90.0, -90.0):
        _, _, d = GEOD.inv(lon, lat, 0.0, pole_lat)
        if d <= radius_km * 1000.0:
            pole = pole_lat
    shell = unwrap_ring(ring, pole_hint=pole)
    return split_antimeridian(polygonal(shift_into_range(Polygon(shell))))


# --------------------------------------------------------------------------- GeoJSON


def parse_geojson(data: str | bytes | dict) -> Zone:
    """Validate and normalise a GeoJSON zone (Polygon, MultiPolygon, Feature, FeatureCollection).

    Raises GeoError for anything that is not a usable area.
    """
    obj = load_json(data)
    crs_name, transformer = _check_crs(obj)
    ignored: list[str] = []
    polygons_coords = _collect_polygon_coords(obj, ignored)
    origin = {"format": "geojson"}
    notes = [NOTE_IGNORED] if ignored else []
    if transformer is not None:
        polygons_coords = reproject_polygons(polygons_coords, transformer)
        origin["crs"] = crs_name
        notes.append(NOTE_REPROJECTED)
    return zone_from_polygons(polygons_coords, origin=origin, notes=notes)


def zone_from_polygons(polygons_coords: list, origin: dict | None = None,
                       notes: list[str] | tuple[str, ...] = ()) -> Zone:
    """The common path of every polygonal input: GeoJSON-style polygon coordinate arrays
    ([ring, hole, ...] of [lon, lat] positions, longitudes possibly past ±180) validated,
    repaired, split at the antimeridian and turned into a `Zone`."""
    if len(polygons_coords) > MAX_POLYGONS:
        raise_too_many_areas()
    total = 0
    for poly in polygons_coords:
        total += _validate_polygon_coords(poly, total)
    if total == 0:
        raise GeoError("empty", N_("The zone is empty: it has no coordinates."))

    repaired = False
    flat = True  # every polygon lies on a line: nothing to repair, simply no area
    pieces: list[BaseGeometry] = []
    for poly in polygons_coords:
        if not poly:
            continue
        shell = unwrap_ring([tuple(p[:2]) for p in poly[0]])
        holes = [unwrap_ring([tuple(p[:2]) for p in ring]) for ring in poly[1:]]
        geom = Polygon(shell)
        if holes:
            centre_x = geom.centroid.x
            holes = [align_ring(h, centre_x) for h in holes]
            geom = Polygon(shell, holes)
        geom = shift_into_range(geom)
        if geom.bounds[2] - geom.bounds[0] > 360.0 + 1e-9:
            raise GeoError("wraps_world",
                           N_("The zone goes more than once around the world; draw it again."))
        if geom.convex_hull.area == 0:
            continue
        flat = False
        if not geom.is_valid:
            geom = polygonal(shapely.make_valid(geom))
            repaired = True
        if not geom.is_empty and geom.area > 0:
            pieces.append(geom)

    if not pieces:
        if not flat:
            raise GeoError("invalid_geometry",
                           N_("The zone's outline crossed itself so badly that no area is left."))
        raise GeoError("empty", N_("The zone has no area (its points are all on one line)."))

    merged = split_antimeridian(shapely.union_all([split_antimeridian(p) for p in pieces]))
    if merged.is_empty:
        raise GeoError("empty", N_("The zone has no area (its points are all on one line)."))
    all_notes = ([NOTE_REPAIRED] if repaired else []) + [n for n in notes if n]
    return Zone(geometry=merged, repaired=repaired, origin=origin or None,
                notes=tuple(dict.fromkeys(all_notes)))


def reproject_polygons(polygons_coords: list, transformer) -> list:
    """Polygon coordinate arrays from another CRS to WGS 84 lon/lat (x, y order kept)."""
    out = []
    for poly in polygons_coords:
        _validate_polygon_coords(poly, 0, geographic=False)
        rings = []
        for ring in poly:
            xs = np.array([float(p[0]) for p in ring])
            ys = np.array([float(p[1]) for p in ring])
            try:
                lons, lats = transformer.transform(xs, ys, errcheck=True)
            except Exception:  # noqa: BLE001 - pyproj raises several types
                lons, lats = np.array([np.inf]), np.array([np.inf])
            lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
            ok = np.isfinite(lons).all() and np.isfinite(lats).all()
            if ok:
                # a point the projection cannot hold (beyond Mercator's pole) does not come back
                try:
                    bx, by = transformer.transform(lons, lats, direction="INVERSE")
                    scale = np.maximum(1.0, np.maximum(np.abs(xs), np.abs(ys)))
                    ok = bool(np.all(np.abs(np.asarray(bx) - xs) <= 1e-6 * scale)
                              and np.all(np.abs(np.asarray(by) - ys) <= 1e-6 * scale))
                except Exception:  # noqa: BLE001
                    ok = False
            if not ok:
                raise GeoError(
                    "reprojection_failed",
                    N_("Some of the zone's coordinates cannot be converted to longitude/latitude: "
                       "they lie outside the area its coordinate system covers."))
            rings.append([[x, y] for x, y in zip(lons.tolist(), lats.tolist())])
        out.append(rings)
    return out


# --------------------------------------------------------------------------- parsing helpers


def load_json(data: str | bytes | dict) -> dict:
    """The JSON object of a zone given as text, bytes or an already parsed dict."""
    if isinstance(data, dict):
        return data
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MAX_BYTES:
            raise GeoError("too_large",
                           N_("The zone is too large (%(size)d bytes; the limit is %(limit)d)."),
                           size=len(data), limit=MAX_BYTES)
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise GeoError("not_json", N_("The zone is not valid JSON: %(detail)s"),
                           detail="not UTF-8 text") from None
    if not isinstance(data, str):
        raise GeoError("not_geojson", N_("The zone must be a GeoJSON object."))
    if len(data) > MAX_BYTES:
        raise GeoError("too_large",
                       N_("The zone is too large (%(size)d bytes; the limit is %(limit)d)."),
                       size=len(data), limit=MAX_BYTES)
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise GeoError("not_json", N_("The zone is not valid JSON: %(detail)s"), detail=detail) from None
    if not isinstance(obj, dict):
        raise GeoError(
            "not_geojson",
            N_("The zone must be a GeoJSON object (Polygon, MultiPolygon, Feature or FeatureCollection)."),
        )
    return obj


def _check_crs(obj: dict):
    """(name, transformer): (None, None) for WGS 84 lon/lat, else a transformer to it.

    GeoJSON (RFC 7946) is always WGS 84 longitude/latitude; the older 2008 format allowed a
    `crs` member. A named EPSG/OGC system is reprojected with pyproj; anything pyproj cannot
    identify is refused, because reading metres as degrees would put the zone anywhere.
    """
    crs = obj.get("crs")
    if crs is None:
        return None, None
    name = None
    if isinstance(crs, dict):
        props = crs.get("properties") or {}
        name = props.get("name") if isinstance(props, dict) else None
        if name is None and isinstance(props, dict) and "code" in props:
            name = f"EPSG:{props['code']}"
    shown = name if isinstance(name, str) else json.dumps(crs)[:100]
    if isinstance(name, str) and (name.strip().lower() in ACCEPTED_CRS or is_wgs84(name.strip())):
        return None, None
    transformer = crs_transformer(name) if isinstance(name, str) else None
    if transformer is None:
        raise GeoError(
            "unsupported_crs",
            N_("The zone uses the coordinate reference system %(crs)s, which is not recognised; "
               "give the zone in WGS 84 longitude/latitude (CRS84, EPSG:4326) or name an "
               "EPSG code."),
            crs=shown,
        )
    return name.strip(), transformer


def crs_transformer(crs_input: Any):
    """A pyproj transformer from that CRS to WGS 84 lon/lat (x, y order), None if unknown."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(crs_input)
    except (CRSError, TypeError, ValueError):
        return None
    if crs.is_geographic is False and crs.is_projected is False:
        return None
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def is_wgs84(crs) -> bool:
    """Whether a pyproj CRS is WGS 84 geographic (EPSG:4326 or OGC:CRS84)."""
    from pyproj import CRS

    try:
        return CRS.from_user_input(crs).equals(CRS.from_epsg(4326), ignore_axis_order=True)
    except Exception:  # noqa: BLE001
        return False


_POLYGONAL = ("Polygon", "MultiPolygon")
_OTHER_GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString")


def _collect_polygon_coords(obj: dict, ignored: list | None = None) -> list[list]:
    """Every polygon's coordinate array found in the object, or a GeoError.

    Points and lines beside areas (a pin, a label) are left out and listed in `ignored`.
    """
    if ignored is None:
        ignored = []
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, (list, tuple)):
            raise GeoError("not_geojson", N_("A FeatureCollection needs a list of features."))
        found: list[list] = []
        seen_types: list[str] = []
        for feature in features:
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise GeoError("not_geojson",
                               N_("Every member of a FeatureCollection must be a Feature."))
            geometry = feature.get("geometry")
            gtype = geometry.get("type") if isinstance(geometry, dict) else None
            if gtype is not None:
                seen_types.append(str(gtype))
            if gtype in _POLYGONAL or gtype == "GeometryCollection":
                found.extend(_collect_polygon_coords(geometry, ignored))
            elif gtype is not None:
                ignored.append(str(gtype))
        if not found:
            if seen_types:
                refuse_non_area(seen_types[0])
            raise GeoError("empty", N_("The zone is empty: it has no coordinates."))
        return found
    if kind == "Feature":
        geometry = obj.get("geometry")
        if geometry is None:
            raise GeoError("empty", N_("The zone is empty: it has no coordinates."))
        if not isinstance(geometry, dict):
            raise GeoError("not_geojson", N_("A Feature's geometry must be a GeoJSON geometry."))
        return _collect_polygon_coords(geometry, ignored)
    if kind == "GeometryCollection":
        members = obj.get("geometries")
        if not isinstance(members, (list, tuple)):
            raise GeoError("not_geojson", N_("A GeometryCollection needs a list of geometries."))
        found = []
        for member in members:
            if isinstance(member, dict) and member.get("type") in _POLYGONAL:
                found.extend(_collect_polygon_coords(member, ignored))
            elif isinstance(member, dict):
                ignored.append(str(member.get("type")))
        if not found:
            raise GeoError("unsupported_geometry",
                           N_("A zone must be an area; this collection has no Polygon or MultiPolygon."),
                           type="GeometryCollection")
        return found
    if kind in _POLYGONAL:
        coords = obj.get("coordinates")
        if not isinstance(coords, (list, tuple)):
            raise GeoError("bad_coordinates",
                           N_("The zone's coordinates must be a list of [longitude, latitude] positions."))
        if kind == "Polygon":
            return [list(coords)] if coords else []
        for poly in coords:
            if not isinstance(poly, (list, tuple)):
                raise GeoError("bad_coordinates",
                               N_("The zone's coordinates must be a list of [longitude, latitude] positions."))
        return [p for p in coords if p]
    if kind in _OTHER_GEOMETRIES:
        refuse_non_area(kind)
    if kind is None:
        raise GeoError(
            "not_geojson",
            N_("The zone must be a GeoJSON object (Polygon, MultiPolygon, Feature or FeatureCollection)."),
        )
    raise GeoError("unknown_type", N_("%(type)s is not a GeoJSON type a zone can use."),
                   type=str(kind)[:50])


def raise_too_many_areas() -> None:
    raise GeoError("too_many_areas",
                   N_("The zone has too many separate areas (more than %(limit)d); merge or simplify them."),
                   limit=MAX_POLYGONS)


def refuse_non_area(kind: str) -> None:
    """A point or a line where an area is needed: say what to give instead."""
    raise GeoError(
        "unsupported_geometry",
        N_("A zone must be an area: %(type)s is not supported. Draw a polygon; for a point "
           "give a circle (centre and radius in km); for a line give a corridor (the line and "
           "a distance in km)."),
        type=str(kind)[:50],
    )


def _validate_polygon_coords(poly: list, seen: int, geographic: bool = True) -> int:
    """Check one polygon's rings and positions; returns its number of positions.

    `geographic=False` checks only structure and numbers (projected coordinates, before
    reprojection); the lon/lat ranges are checked afterwards.
    """
    count = 0
    bad = GeoError("bad_coordinates",
                   N_("The zone's coordinates must be numbers, as [longitude, latitude] positions."))
    if not isinstance(poly, (list, tuple)):
        raise bad
    for ring in poly:
        if not isinstance(ring, (list, tuple)):
            raise bad
        if len(ring) < 4:
            raise GeoError(
                "too_few_positions",
                N_("Each ring of the zone needs at least 4 positions (a closed triangle); "
                   "one has %(count)d."),
                count=len(ring),
            )
        for pos in ring:
            if not isinstance(pos, (list, tuple)) or len(pos) < 2:
                raise bad
            lon, lat = pos[0], pos[1]
            for v in (lon, lat):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise bad
            if not geographic:
                continue
            if not -90.0 <= lat <= 90.0:
                raise GeoError(
                    "latitude_out_of_range",
                    N_("Latitude %(lat)s is outside -90 to 90. GeoJSON positions are "
                       "[longitude, latitude]: check the order."),
                    lat=lat,
                )
            if abs(lon) > 1080.0:
                raise GeoError("longitude_out_of_range",
                               N_("Longitude %(lon)s is not a longitude on this planet."), lon=lon)
        count += len(ring)
        if seen + count > MAX_VERTICES:
            raise GeoError(
                "too_many_vertices",
                N_("The zone has too many vertices (more than %(limit)d); simplify it."),
                limit=MAX_VERTICES,
            )
        # closed, or closed one turn later (a ring written 0..360 round a pole)
        if ring[0][1] != ring[-1][1] or (ring[0][0] - ring[-1][0]) % 360.0 != 0.0:
            raise GeoError("unclosed_ring",
                           N_("A ring of the zone is not closed: its last position must repeat the first."))
    return count


# --------------------------------------------------------------------------- antimeridian


# --------------------------------------------------------------------------- small helpers


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _finite(value: Any, code: str, message: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GeoError(code, message) from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise GeoError(code, message)
    return number


def _as_arrays(lons: Any, lats: Any) -> tuple[np.ndarray, np.ndarray]:
    lons = np.atleast_1d(np.asarray(lons, dtype=float))
    lats = np.atleast_1d(np.asarray(lats, dtype=float))
    if lons.shape != lats.shape:
        raise ValueError("lons and lats must have the same shape")
    return lons, lats


def _wrap_lon(lons: np.ndarray) -> np.ndarray:
    """Longitudes into [-180, 180] (180 itself stays 180)."""
    out = lons.copy()
    outside = (out < -180.0) | (out > 180.0)
    if outside.any():
        out[outside] = (out[outside] + 180.0) % 360.0 - 180.0
    return out


def _central_point(geom: MultiPolygon) -> tuple[float, float]:
    """(lat, lon) of a point inside the zone, computed across the antimeridian if split."""
    parts = list(geom.geoms)
    east = any(p.bounds[2] >= 180.0 - 1e-9 for p in parts)
    west = any(p.bounds[0] <= -180.0 + 1e-9 for p in parts)
    if east and west and geom.bounds[2] - geom.bounds[0] > 180.0:
        parts = [translate(p, xoff=360.0) if p.centroid.x < 0 else p for p in parts]
        joined = shapely.union_all(parts)
    else:
        joined = geom
    point = joined.centroid
    if not joined.intersects(point):
        point = joined.representative_point()
    lon = float(_wrap_lon(np.array([point.x]))[0])
    return (float(point.y), lon)
