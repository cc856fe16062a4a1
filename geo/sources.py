"""Zones from where they are kept: rebuilt from what an incident stored, or read from a
command-line argument. These know every kind of zone (circles, polygons, countries,
corridors, uploaded files), so they sit above `zones`, `formats` and `corridor`."""
from __future__ import annotations

from pathlib import Path

import shapely
from shapely.geometry import shape

from common.i18n import N_
from geo.corridor import corridor
from geo.errors import GeoError
from geo.formats import countries_zone, parse_upload, parse_zone_text
from geo.geometry import polygonal
from geo.zones import MAX_BYTES, Zone, circle


def zone_from_stored(geojson: dict | None, source: dict | None = None) -> Zone:
    """Rebuild a zone saved with `to_geojson()` and `source()`.

    Circles are recomputed from centre and radius; every other kind keeps its stored
    geometry (so a later change to the country layer does not move an old incident's
    zone) and its origin; a countries or corridor zone stored without geometry is
    rebuilt from its codes or its track.
    """
    source = dict(source or {})
    kind = source.get("kind")
    if kind == "circle":
        return circle(float(source["lat"]), float(source["lon"]), float(source["radius_km"]))
    if geojson is None and kind == "countries":
        return countries_zone(source.get("codes") or [])
    if geojson is None and kind == "corridor":
        return corridor([tuple(p) for p in source.get("track") or []],
                        float(source.get("distance_km") or 0))
    if geojson is None:
        raise GeoError("empty", N_("The zone is empty: it has no area."))
    geom = polygonal(shape(geojson))
    if not geom.is_valid:
        geom = polygonal(shapely.make_valid(geom))
    if geom.is_empty:
        raise GeoError("empty", N_("The zone is empty: it has no area."))
    origin = {k: v for k, v in source.items()
              if k not in ("vertices", "repaired", "note", "notes")} or None
    if origin and origin.get("kind") == "polygon" and len(origin) == 1:
        origin = None
    notes = tuple(source.get("notes") or ())
    return Zone(geometry=geom, repaired=bool(source.get("repaired")), note=source.get("note"),
               origin=origin, notes=notes)


ZONE_ARGUMENT_HELP = N_(
    "Give a zone: a file (GeoJSON, KML, KMZ, zipped Shapefile, GeoPackage or WKT), "
    "circle:LAT,LON,RADIUS_KM, countries:FR,BE, wkt:POLYGON((...)), cap:\"LAT,LON LAT,LON ...\" "
    "or corridor:KM:LAT,LON LAT,LON ...")


def parse_zone_argument(text: str) -> Zone:
    """A zone from the command line.

    `circle:LAT,LON,RADIUS_KM`, `countries:FR,BE`, `wkt:POLYGON((...))`,
    `cap:LAT,LON LAT,LON ...` (a CAP polygon, latitude first), `corridor:KM:LAT,LON LAT,LON ...`
    (every place within KM of the track), or the path of a file in any format
    `geo.formats.parse_upload` reads.
    """
    text = (text or "").strip()
    if not text:
        raise GeoError("zone_missing", ZONE_ARGUMENT_HELP)
    prefix, _, rest = text.partition(":")
    prefix = prefix.strip().lower()
    if prefix == "circle":
        parts = [p.strip() for p in rest.split(",")]
        try:
            if len(parts) != 3:
                raise ValueError
            lat, lon, radius = (float(p) for p in parts)
        except ValueError:
            raise GeoError(
                "circle_syntax",
                N_("Write a circle as circle:LAT,LON,RADIUS_KM, for example "
                   "circle:45.42,-75.69,300; got %(text)s."),
                text=text,
            ) from None
        return circle(lat, lon, radius)
    if prefix in ("countries", "country", "wkt", "cap", "corridor"):
        rest = rest.strip().strip('"').strip("'")
        if prefix in ("countries", "country"):
            return parse_zone_text("countries", rest)
        if prefix == "wkt":
            return parse_zone_text("wkt", rest)
        if prefix == "cap":
            return parse_zone_text("cap_polygon", rest)
        km, _, track = rest.partition(":")
        return parse_zone_text("corridor", track.strip().strip('"').strip("'"), distance_km=km)
    path = Path(text).expanduser()
    if not path.is_file():
        raise GeoError("file_not_found",
                       N_("The zone file %(path)s does not exist (or is not a file)."), path=text)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise GeoError("too_large",
                       N_("The zone is too large (%(size)d bytes; the limit is %(limit)d)."),
                       size=size, limit=MAX_BYTES)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GeoError("file_unreadable", N_("The zone file %(path)s cannot be read: %(detail)s"),
                       path=text, detail=exc.strerror or str(exc)) from None
    return parse_upload(path.name, data)
