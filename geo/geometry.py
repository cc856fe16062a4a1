"""Plane geometry on longitude and latitude: polygons that cross the antimeridian or go round
a pole, cut and shifted back into [-180, 180]. Every zone kind (`zones`, `formats`,
`corridor`) builds its geometry with these."""
from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

_WORLD_BOXES = [(k, box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0)) for k in (-1, 0, 1)]


def unwrap_ring(ring: list[tuple[float, float]], pole_hint: float | None = None) -> list:
    """Make longitudes continuous: a jump of more than 180° is a crossing, not a detour.

    A ring that ends up 360° away from where it started goes round a pole; it is closed
    through that pole so the polygon covers the polar cap.
    """
    lons = np.array([p[0] for p in ring], dtype=float)
    lats = np.array([p[1] for p in ring], dtype=float)
    steps = np.diff(lons)
    # an edge from -180 to 180 exactly (an RFC 7946 polar cap) runs along the meridian
    full_width = (np.abs(steps) == 360.0) & (np.abs(lons[:-1]) == 180.0)
    jumps = (np.abs(steps) > 180.0) & ~full_width
    adjust = np.where(jumps, -360.0 * np.round(steps / 360.0), 0.0)
    # a step like 179 -> -179 (-358) must become +2, which round(-358/360) = -1 gives
    unwrapped = lons + np.concatenate([[0.0], np.cumsum(adjust)])
    # Move the ring so its first vertex is in [-180, 180).
    shift = -360.0 * math.floor((unwrapped[0] + 180.0) / 360.0)
    unwrapped = unwrapped + shift
    coords = list(zip(unwrapped.tolist(), lats.tolist()))
    drift = unwrapped[-1] - unwrapped[0]
    if abs(drift) > 1e-9:
        pole = pole_hint if pole_hint is not None else (90.0 if lats.mean() >= 0 else -90.0)
        coords = coords + [(unwrapped[-1], pole), (unwrapped[0], pole), coords[0]]
    return coords


def align_ring(ring: list, centre_x: float) -> list:
    """Shift a hole by whole turns so it sits inside its (unwrapped) exterior."""
    xs = [p[0] for p in ring]
    mid = (min(xs) + max(xs)) / 2.0
    k = round((centre_x - mid) / 360.0)
    return [(x + 360.0 * k, y) for x, y in ring]


def shift_into_range(geom: BaseGeometry) -> BaseGeometry:
    """Translate by whole turns so the western edge is in [-180, 180)."""
    minx = geom.bounds[0]
    k = math.floor((minx + 180.0) / 360.0)
    return translate(geom, xoff=-360.0 * k) if k else geom


def split_antimeridian(geom: BaseGeometry) -> MultiPolygon:
    """Cut at ±180 and bring each piece back into [-180, 180]."""
    geom = polygonal(geom)
    if geom.is_empty:
        return geom
    minx, _, maxx, _ = geom.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return geom
    pieces = []
    for k, world in _WORLD_BOXES:
        part = polygonal(geom.intersection(world))
        if not part.is_empty:
            pieces.append(translate(part, xoff=-360.0 * k) if k else part)
    merged = polygonal(shapely.union_all(pieces)) if pieces else MultiPolygon()
    if not merged.is_valid:
        merged = polygonal(shapely.make_valid(merged))
    return merged


def polygonal(geom: BaseGeometry | None) -> MultiPolygon:
    """The polygonal parts of any geometry, as a MultiPolygon (maybe empty)."""
    if geom is None or geom.is_empty:
        return MultiPolygon()
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        parts.extend(polygonal(part).geoms)
    parts = [p for p in parts if not p.is_empty and p.area > 0]
    if not parts:
        return MultiPolygon()
    if len(parts) == 1:
        return MultiPolygon(parts)
    return as_multi(shapely.union_all(parts))


def as_multi(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    return polygonal(geom)
