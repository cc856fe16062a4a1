"""Zone inputs beyond drawn GeoJSON: the files and strings coordinators and feeds really send.

Each reader turns its input into GeoJSON-style polygon coordinates and hands them to
`geo.zones.zone_from_polygons`, so every format gets the same checks (vertex limits,
ranges, closed rings), the same repair (reported, never silent) and the same antimeridian
handling. Coordinates in another reference system are reprojected with pyproj and the
zone's note says so; a layer whose reference system is unknown is refused, because reading
metres as degrees would put the zone anywhere on Earth.

* `parse_upload(filename, data)`: GeoJSON, KML, KMZ, zipped Shapefile, GeoPackage, WKT,
  chosen by extension, or by content when the extension says nothing.
* `parse_zone_text(kind, text, **params)`: WKT, a CAP `<polygon>` or `<circle>` (latitude
  FIRST, as CAP writes it), countries by ISO code, a corridor around a track.
"""
from __future__ import annotations

import io
import math
import re
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

import shapely
from shapely.geometry import mapping

from common.i18n import N_
from geo.errors import GeoError
from geo.geometry import split_antimeridian
from geo.zones import (
    MAX_BYTES,
    NOTE_IGNORED,
    NOTE_REPROJECTED,
    Zone,
    circle,
    crs_transformer,
    is_wgs84,
    parse_geojson,
    refuse_non_area,
    reproject_polygons,
    zone_from_polygons,
)

MAX_UNZIPPED_BYTES = 5 * MAX_BYTES  # a zip bomb stops here
MAX_COUNTRIES = 60
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_AREA_TYPES = ("Polygon", "MultiPolygon")


# --------------------------------------------------------------------------- entry points


def parse_upload(filename: str, data: bytes) -> Zone:
    """The zone in an uploaded file, by extension or, failing that, by content."""
    if data is None or len(data) == 0:
        raise GeoError("empty_file", N_("The uploaded file is empty."))
    if len(data) > MAX_BYTES:
        raise GeoError("too_large",
                       N_("The zone is too large (%(size)d bytes; the limit is %(limit)d)."),
                       size=len(data), limit=MAX_BYTES)
    suffix = PurePosixPath((filename or "").lower()).suffix
    if suffix in (".geojson", ".json"):
        return parse_geojson(data)
    if suffix == ".kml":
        return parse_kml(data)
    if suffix == ".kmz":
        return parse_kmz(data)
    if suffix == ".zip":
        return _parse_zip(data)
    if suffix == ".gpkg":
        return parse_geopackage(data)
    if suffix in (".wkt", ".txt"):
        return parse_zone_text("wkt", _text(data))
    if suffix == ".shp":
        raise GeoError("shapefile_not_zipped",
                       N_("A Shapefile is several files (.shp, .shx, .dbf, .prj): upload them "
                          "together in one .zip file."))
    # no telling extension: look at the content
    head = data[:64]
    if head.startswith(b"PK"):
        return _parse_zip(data)
    if head.startswith(b"SQLite format 3"):
        return parse_geopackage(data)
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return parse_geojson(data)
    if stripped.startswith(b"<"):
        return parse_kml(data)
    if re.match(rb"(?i)(srid=\d+;)?\s*(multi)?polygon", stripped):
        return parse_zone_text("wkt", _text(data))
    raise GeoError(
        "unknown_format",
        N_("The file %(name)s is not a zone format we read: use GeoJSON, KML, KMZ, a zipped "
           "Shapefile, GeoPackage or WKT."),
        name=(filename or "")[:100],
    )


def parse_zone_text(kind: str, text: str, **params: Any) -> Zone:
    """A zone typed or pasted as text.

    kind: 'geojson', 'wkt', 'cap_polygon' ("lat,lon lat,lon ..."), 'cap_circle'
    ("lat,lon radius_km"), 'countries' ("FR,BE" or a list), 'corridor' (a track
    "lat,lon lat,lon ..." or a GeoJSON LineString, with `distance_km=`).
    """
    if kind == "geojson":
        return parse_geojson(text)
    if kind == "countries":
        codes = text if isinstance(text, (list, tuple)) else re.split(r"[\s,;]+", text or "")
        return countries_zone(codes)
    if kind == "corridor":
        from geo.corridor import corridor, parse_track

        distance = params.get("distance_km", params.get("km"))
        return corridor(parse_track(text), _number(distance, "corridor_distance", N_(
            "The corridor's distance must be a number of kilometres.")))
    if not isinstance(text, str) or not text.strip():
        raise GeoError("zone_missing", N_("The zone text is empty."))
    if len(text) > MAX_BYTES:
        raise GeoError("too_large",
                       N_("The zone is too large (%(size)d bytes; the limit is %(limit)d)."),
                       size=len(text), limit=MAX_BYTES)
    if kind == "wkt":
        return parse_wkt(text)
    if kind == "cap_polygon":
        return parse_cap_polygon(text)
    if kind == "cap_circle":
        return parse_cap_circle(text)
    raise GeoError("zone_kind", N_("%(kind)s is not a kind of zone text we read."), kind=str(kind)[:30])


# --------------------------------------------------------------------------- WKT


_EWKT = re.compile(r"^\s*SRID\s*=\s*(\d+)\s*;\s*", re.IGNORECASE)


def parse_wkt(text: str) -> Zone:
    """WKT (or EWKT with `SRID=n;`), in lon/lat unless an SRID says otherwise."""
    srid = None
    match = _EWKT.match(text)
    if match:
        srid = int(match.group(1))
        text = text[match.end():]
    try:
        geom = shapely.from_wkt(text.strip())
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise GeoError("bad_wkt", N_("The WKT text cannot be read: %(detail)s"),
                       detail=str(exc).splitlines()[0][:200]) from None
    origin = {"format": "wkt"}
    notes: list[str] = []
    transformer = None
    if srid is not None and not is_wgs84(f"EPSG:{srid}"):
        transformer = crs_transformer(f"EPSG:{srid}")
        if transformer is None:
            raise GeoError(
                "unsupported_crs",
                N_("The zone uses the coordinate reference system %(crs)s, which is not recognised; "
                   "give the zone in WGS 84 longitude/latitude (CRS84, EPSG:4326) or name an "
                   "EPSG code."), crs=f"EPSG:{srid}")
    return _zone_from_geometries([geom], transformer, origin, notes,
                                 crs_name=f"EPSG:{srid}" if transformer else None)


# --------------------------------------------------------------------------- CAP


_PAIR = re.compile(r"^([-+]?\d+(?:\.\d*)?|[-+]?\.\d+),([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)$")


def _cap_pairs(text: str, code: str) -> list[tuple[float, float]]:
    pairs = []
    for token in text.split():
        match = _PAIR.match(token)
        if not match:
            raise GeoError(
                code,
                N_("%(token)s is not a CAP coordinate pair: CAP writes \"latitude,longitude\" "
                   "pairs separated by spaces, for example \"45.42,-75.69 45.5,-73.57\"."),
                token=token[:50])
        lat, lon = float(match.group(1)), float(match.group(2))
        if not -90.0 <= lat <= 90.0:
            raise GeoError(
                "latitude_out_of_range",
                N_("Latitude %(lat)s is outside -90 to 90. CAP pairs are \"latitude,longitude\": "
                   "check the order."), lat=lat)
        if not -180.0 <= lon <= 180.0:
            raise GeoError("longitude_out_of_range",
                           N_("Longitude %(lon)s is outside -180 to 180."), lon=lon)
        pairs.append((lat, lon))
    return pairs


def parse_cap_polygon(text: str) -> Zone:
    """A CAP 1.2 `<polygon>`: at least four "lat,lon" pairs, the last repeating the first."""
    pairs = _cap_pairs(text, "bad_cap_polygon")
    if len(pairs) < 4:
        raise GeoError(
            "too_few_positions",
            N_("A CAP polygon needs at least 4 coordinate pairs, the last one repeating the "
               "first; it has %(count)d."), count=len(pairs))
    if pairs[0] != pairs[-1]:
        raise GeoError("unclosed_ring",
                       N_("The CAP polygon is not closed: its last pair must repeat the first."))
    ring = [[lon, lat] for lat, lon in pairs]
    return zone_from_polygons([[ring]], origin={"format": "cap"})


def parse_cap_circle(text: str) -> Zone:
    """A CAP 1.2 `<circle>`: "lat,lon radius" with the radius in kilometres."""
    parts = (text or "").split()
    if len(parts) != 2:
        raise GeoError(
            "bad_cap_circle",
            N_("A CAP circle is written \"latitude,longitude radius_km\", for example "
               "\"45.42,-75.69 50\"."))
    [(lat, lon)] = _cap_pairs(parts[0], "bad_cap_circle")
    radius = _number(parts[1], "circle_radius", N_("The circle's radius must be a number."))
    return circle(lat, lon, radius)


def parse_cap_area(polygons: list[str] = (), circles: list[str] = ()) -> Zone:
    """A CAP `<area>` with any number of `<polygon>` and `<circle>` elements, as one zone.

    A single circle stays an exact geodesic circle; several shapes become their union.
    """
    zones = [parse_cap_polygon(p) for p in polygons] + [parse_cap_circle(c) for c in circles]
    if not zones:
        raise GeoError("zone_missing", N_("The CAP area has no polygon or circle."))
    if len(zones) == 1:
        return zones[0]
    geom = split_antimeridian(shapely.union_all([z.geometry for z in zones]))
    return Zone(geometry=geom, origin={"format": "cap"})


# --------------------------------------------------------------------------- countries


def countries_zone(codes) -> Zone:
    """The union of the named countries' shapes; reaches their country-only stops too."""
    from geo.countries import country_geometry, is_country

    cleaned = [str(c).strip().upper() for c in (codes or []) if str(c).strip()]
    cleaned = list(dict.fromkeys(cleaned))
    if not cleaned:
        raise GeoError("no_countries",
                       N_("Name at least one country by its ISO code, for example FR or FR,BE."))
    if len(cleaned) > MAX_COUNTRIES:
        raise GeoError("too_many_countries",
                       N_("A zone may name at most %(limit)d countries."), limit=MAX_COUNTRIES)
    unknown = [c for c in cleaned if not is_country(c)]
    if unknown:
        raise GeoError("unknown_country",
                       N_("%(codes)s is not a country code we know (ISO 3166-1 alpha-2, e.g. FR)."),
                       codes=", ".join(unknown[:10]))
    geom = split_antimeridian(shapely.union_all([country_geometry(c) for c in cleaned]))
    return Zone(geometry=geom, origin={"kind": "countries", "codes": sorted(cleaned)})


# --------------------------------------------------------------------------- KML / KMZ


def parse_kml(data: bytes | str) -> Zone:
    """Polygons of a KML document (any nesting, any namespace); lon,lat[,alt] tuples."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise GeoError("bad_kml", N_("The KML file cannot be read: %(detail)s"),
                       detail=str(exc)[:200]) from None
    if _local(root.tag) != "kml" and not any(_local(e.tag) == "Placemark" for e in root.iter()):
        raise GeoError("bad_kml", N_("The KML file cannot be read: %(detail)s"),
                       detail="no <kml> root element")
    polygons, others = [], []
    for element in root.iter():
        name = _local(element.tag)
        if name == "Polygon":
            polygons.append(_kml_polygon(element))
        elif name in ("Point", "LineString", "Track", "gx:Track"):
            others.append(name)
    if not polygons:
        if others:
            refuse_non_area(others[0])
        raise GeoError("empty", N_("The zone is empty: it has no coordinates."))
    return zone_from_polygons(polygons, origin={"format": "kml"},
                              notes=[NOTE_IGNORED] if others else [])


def parse_kmz(data: bytes) -> Zone:
    """A KMZ: a zip holding a KML document (doc.kml, or the first .kml inside)."""
    with _open_zip(data) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".kml")]
        if not names:
            raise GeoError("bad_kml", N_("The KML file cannot be read: %(detail)s"),
                           detail="no .kml document in the KMZ")
        name = "doc.kml" if "doc.kml" in names else names[0]
        return parse_kml(archive.read(name))


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _kml_polygon(element) -> list:
    outer, inner = [], []
    for child in element:
        name = _local(child.tag)
        if name in ("outerBoundaryIs", "innerBoundaryIs"):
            for coords in child.iter():
                if _local(coords.tag) == "coordinates":
                    (outer if name == "outerBoundaryIs" else inner).append(_kml_coords(coords.text))
    if not outer:
        raise GeoError("bad_kml", N_("The KML file cannot be read: %(detail)s"),
                       detail="a <Polygon> has no <outerBoundaryIs>")
    return [outer[0], *inner]


def _kml_coords(text: str | None) -> list:
    ring = []
    for token in (text or "").split():
        parts = token.split(",")
        try:
            if len(parts) < 2:
                raise ValueError
            lon, lat = float(parts[0]), float(parts[1])
        except ValueError:
            raise GeoError("bad_kml", N_("The KML file cannot be read: %(detail)s"),
                           detail=f"bad coordinate {token[:40]!r}") from None
        ring.append([lon, lat])
    return ring


# --------------------------------------------------------------------------- Shapefile / GeoPackage


def _parse_zip(data: bytes) -> Zone:
    with _open_zip(data) as archive:
        names = archive.namelist()
    if any(n.lower().endswith(".shp") for n in names):
        return parse_shapefile_zip(data)
    if any(n.lower().endswith(".kml") for n in names):
        return parse_kmz(data)
    if any(n.lower().endswith(".gpkg") for n in names):
        with _open_zip(data) as archive:
            name = next(n for n in names if n.lower().endswith(".gpkg"))
            return parse_geopackage(archive.read(name))
    raise GeoError("no_shapefile",
                   N_("The zip file holds no Shapefile (.shp with its .shx, .dbf and .prj)."))


def parse_shapefile_zip(data: bytes) -> Zone:
    """A zipped Shapefile: one .shp with its .shx, .dbf and (required) .prj."""
    with _open_zip(data) as archive:
        shps = [n for n in archive.namelist()
                if n.lower().endswith(".shp") and not PurePosixPath(n).name.startswith(".")]
        if len(shps) != 1:
            raise GeoError(
                "several_shapefiles",
                N_("The zip file holds %(count)d Shapefiles; put only the zone's Shapefile in it."),
                count=len(shps))
        stem = shps[0][:-4]
        members = {n[len(stem):].lower(): n for n in archive.namelist()
                   if n.startswith(stem) and n[len(stem):].lower() in _SHAPEFILE_PARTS}
        if ".shx" not in members or ".dbf" not in members:
            raise GeoError("incomplete_shapefile",
                           N_("The Shapefile is incomplete: the zip needs the .shp, .shx and .dbf "
                              "files (and the .prj)."))
        if ".prj" not in members:
            raise GeoError(
                "no_crs",
                N_("The Shapefile has no .prj file, so its coordinate reference system is unknown; "
                   "add the .prj file to the zip."))
        with tempfile.TemporaryDirectory(prefix="zone-") as tmp:
            for ext, member in members.items():
                Path(tmp, "zone" + ext).write_bytes(archive.read(member))
            return _read_layer_file(Path(tmp, "zone.shp"), "shapefile")


def parse_geopackage(data: bytes) -> Zone:
    """A GeoPackage with one layer of areas (its CRS is reprojected to WGS 84)."""
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="zone-") as tmp:
        path = Path(tmp, "zone.gpkg")
        path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                layers = pyogrio.list_layers(path)
        except Exception as exc:  # noqa: BLE001 - GDAL errors come in many types
            raise GeoError("bad_file", N_("The file cannot be read as %(format)s: %(detail)s"),
                           format="GeoPackage", detail=str(exc)[:200]) from None
        spatial = [str(name) for name, gtype in layers if gtype]
        if not spatial:
            raise GeoError("empty", N_("The zone is empty: it has no coordinates."))
        if len(spatial) > 1:
            raise GeoError(
                "several_layers",
                N_("The GeoPackage has several layers (%(layers)s); keep only the zone's layer."),
                layers=", ".join(spatial[:10]))
        return _read_layer_file(path, "geopackage", layer=spatial[0])


def _read_layer_file(path: Path, fmt: str, layer: str | None = None) -> Zone:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # noqa: BLE001
        raise GeoError("bad_file", N_("The file cannot be read as %(format)s: %(detail)s"),
                       format=fmt, detail=str(exc)[:200]) from None
    if frame.crs is None:
        raise GeoError(
            "no_crs",
            N_("The file does not say which coordinate reference system it uses, so its "
               "coordinates cannot be placed; export it again with its CRS (e.g. EPSG:4326)."))
    origin = {"format": fmt}
    transformer, crs_name = None, None
    if not is_wgs84(frame.crs):
        transformer = crs_transformer(frame.crs)
        if transformer is None:
            raise GeoError(
                "unsupported_crs",
                N_("The zone uses the coordinate reference system %(crs)s, which is not recognised; "
                   "give the zone in WGS 84 longitude/latitude (CRS84, EPSG:4326) or name an "
                   "EPSG code."), crs=str(frame.crs.name)[:100])
        epsg = frame.crs.to_epsg()
        crs_name = f"EPSG:{epsg}" if epsg else str(frame.crs.name)
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    return _zone_from_geometries(geoms, transformer, origin, [], crs_name=crs_name)


# --------------------------------------------------------------------------- shared helpers


def _zone_from_geometries(geoms, transformer, origin: dict, notes: list[str],
                          crs_name: str | None = None) -> Zone:
    """Shapely geometries (any type) to a zone through the common validating path."""
    polygons, others = [], []
    for geom in geoms:
        for part in shapely.get_parts(geom):
            if part.is_empty:
                continue
            if part.geom_type in _AREA_TYPES:
                coords = mapping(part)["coordinates"]
                polys = [coords] if part.geom_type == "Polygon" else list(coords)
                polygons.extend([[list(map(list, ring)) for ring in poly] for poly in polys])
            elif part.geom_type == "GeometryCollection":
                sub = _zone_parts(part)
                polygons.extend(sub[0])
                others.extend(sub[1])
            else:
                others.append(part.geom_type)
    if not polygons:
        if others:
            refuse_non_area(others[0])
        raise GeoError("empty", N_("The zone is empty: it has no coordinates."))
    # drop Z values: a zone is an area on the ground
    polygons = [[[p[:2] for p in ring] for ring in poly] for poly in polygons]
    if others:
        notes = [*notes, NOTE_IGNORED]
    if transformer is not None:
        polygons = reproject_polygons(polygons, transformer)
        origin = {**origin, "crs": crs_name}
        notes = [*notes, NOTE_REPROJECTED]
    return zone_from_polygons(polygons, origin=origin, notes=notes)


def _zone_parts(collection) -> tuple[list, list]:
    polygons, others = [], []
    for part in collection.geoms:
        if part.geom_type in _AREA_TYPES:
            for poly in shapely.get_parts(part):
                coords = mapping(poly)["coordinates"]
                polygons.append([list(map(list, ring)) for ring in coords])
        else:
            others.append(part.geom_type)
    return polygons, others


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise GeoError("bad_zip", N_("The zip file cannot be read: %(detail)s"),
                       detail=str(exc)[:200]) from None
    if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
        archive.close()
        raise GeoError("too_large",
                       N_("The zone is too large (%(size)d bytes; the limit is %(limit)d)."),
                       size=sum(i.file_size for i in archive.infolist()), limit=MAX_UNZIPPED_BYTES)
    return archive


def _text(data: bytes) -> str:
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GeoError("not_text", N_("The file is not UTF-8 text.")) from None


def _number(value: Any, code: str, message: str) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise GeoError(code, message) from None
    if not math.isfinite(number):
        raise GeoError(code, message)
    return number
