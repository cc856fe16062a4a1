"""Zone inputs beyond drawn GeoJSON: the files and strings coordinators and feeds really send.

Each reader turns its input into GeoJSON-style polygon coordinates and hands them to
`geo.zones.zone_from_polygons`, so every format gets the same checks (vertex limits,
ranges, closed rings), the same repair (reported, never silent) and the same antimeridian
handling. Coordinates in another reference system are reprojected with pyproj and the
zone's note says so; a layer whose reference system is unknown is refused, because reading
metres as degrees would put the zone anywhere on Earth.

* `parse_upload(filename, data, limits=None)`: GeoJSON, KML, KMZ, zipped Shapefile,
  GeoPackage, WKT, chosen by extension, or by content when the extension says nothing.
  An upload is hostile input: every reader charges a `geo.limits.Budget` while it reads
  (features, vertices, bytes really unzipped, time), so a small file that would unfold into
  gigabytes or minutes stops at the first limit it crosses, with a `GeoError` naming it.
* `parse_zone_text(kind, text, **params)`: WKT, a CAP `<polygon>` or `<circle>` (latitude
  FIRST, as CAP writes it), countries by ISO code, a corridor around a track.
"""
from __future__ import annotations

import math
import re
import sqlite3
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from xml.parsers import expat

import numpy as np
import shapely
from shapely.geometry import mapping

from common.i18n import N_
from geo.archives import member_chunks, open_zip, read_member
from geo.errors import GeoError
from geo.geometry import split_antimeridian
from geo.limits import MESSAGE_TOO_MANY_VERTICES, Budget, UploadLimits, raise_too_many_features
from geo.zones import (
    MAX_BYTES,
    MAX_POLYGONS,
    MAX_VERTICES,
    NOTE_IGNORED,
    NOTE_REPROJECTED,
    Zone,
    circle,
    crs_transformer,
    is_wgs84,
    load_json,
    parse_geojson,
    raise_too_many_areas,
    refuse_non_area,
    reproject_polygons,
    zone_from_polygons,
)

MAX_COUNTRIES = 60
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_AREA_TYPES = ("Polygon", "MultiPolygon")
_LAYER_CHUNK = 500  # features per read of a Shapefile or GeoPackage layer
_TEXT_CHUNK = 1024 * 1024  # bytes of KML fed to the parser between two looks at the clock


# --------------------------------------------------------------------------- entry points


def parse_upload(filename: str, data: bytes, limits: UploadLimits | None = None) -> Zone:
    """The zone in an uploaded file, by extension or, failing that, by content, read
    within `limits` (the defaults of `UploadLimits` when none are given)."""
    if data is None or len(data) == 0:
        raise GeoError("empty_file", N_("The uploaded file is empty."))
    if len(data) > MAX_BYTES:
        raise GeoError("too_large",
                       N_("The zone is too large (%(size)d bytes; the limit is %(limit)d)."),
                       size=len(data), limit=MAX_BYTES)
    budget = Budget(limits)
    suffix = PurePosixPath((filename or "").lower()).suffix
    if suffix in (".geojson", ".json"):
        return parse_geojson_upload(data, budget)
    if suffix == ".kml":
        return parse_kml(data, budget)
    if suffix == ".kmz":
        return parse_kmz(data, budget)
    if suffix == ".zip":
        return _parse_zip(data, budget)
    if suffix == ".gpkg":
        return parse_geopackage(data, budget)
    if suffix in (".wkt", ".txt"):
        return parse_zone_text("wkt", _text(data))
    if suffix == ".shp":
        raise GeoError("shapefile_not_zipped",
                       N_("A Shapefile is several files (.shp, .shx, .dbf, .prj): upload them "
                          "together in one .zip file."))
    # no telling extension: look at the content
    head = data[:64]
    if head.startswith(b"PK"):
        return _parse_zip(data, budget)
    if head.startswith(b"SQLite format 3"):
        return parse_geopackage(data, budget)
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return parse_geojson_upload(data, budget)
    if stripped.startswith(b"<"):
        return parse_kml(data, budget)
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
    _check_wkt_shape(text)
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


MAX_WKT_DEPTH = 8  # GEOMETRYCOLLECTION(MULTIPOLYGON(((...)))) is 4


def _check_wkt_shape(text: str) -> None:
    """Counted before GEOS reads the text: its nesting (GEOS's WKT reader recurses once a
    level, and a text nested a hundred thousand deep overflows the stack and kills the
    process) and its positions (one comma between two; a zone holds at most MAX_VERTICES)."""
    raw = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    depth = np.cumsum((raw == ord("(")).astype(np.int32) - (raw == ord(")")).astype(np.int32))
    if depth.size and int(depth.max()) > MAX_WKT_DEPTH:
        raise GeoError("too_deep", N_("The file is nested too deeply (more than %(limit)d levels)."),
                       limit=MAX_WKT_DEPTH)
    if int(np.count_nonzero(raw == ord(","))) > MAX_VERTICES:
        raise GeoError("too_many_vertices", MESSAGE_TOO_MANY_VERTICES, limit=MAX_VERTICES)


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


# --------------------------------------------------------------------------- GeoJSON


def parse_geojson_upload(data: bytes, budget: Budget | None = None) -> Zone:
    """An uploaded GeoJSON file. Python's JSON parser builds every object before anything
    can be counted, so the file's brackets are counted first (a cheap upper bound on the
    positions and objects it would build) and a file that cannot fit the limits is refused
    unread; the features are counted again, exactly, before the zone is built."""
    budget = budget or Budget()
    limits = budget.limits
    raw = bytes(data)
    # every position is a `[`, every feature at least one `{` (usually three: the feature,
    # its geometry, its properties): the slack allows rings, nested properties and strings
    if raw.count(b"{") > 10 * limits.max_features + 1000:
        raise_too_many_features(limits.max_features)
    if raw.count(b"[") > 2 * limits.max_vertices + 1000 or raw.count(b",") > 8 * limits.max_vertices:
        budget.charge_vertices(limits.max_vertices + 1)
    obj = load_json(raw)
    features = obj.get("features")
    if obj.get("type") == "FeatureCollection" and isinstance(features, list):
        budget.charge_features(len(features))
    budget.check_time()
    return parse_geojson(obj)


# --------------------------------------------------------------------------- KML / KMZ


def parse_kml(data: bytes | str, budget: Budget | None = None) -> Zone:
    """Polygons of a KML document (any nesting, any namespace); lon,lat[,alt] tuples."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = bytes(data)
    return _read_kml((data[i:i + _TEXT_CHUNK] for i in range(0, len(data), _TEXT_CHUNK)),
                     budget or Budget())


def parse_kmz(data: bytes, budget: Budget | None = None) -> Zone:
    """A KMZ: a zip holding a KML document (doc.kml, or the first .kml inside)."""
    budget = budget or Budget()
    with open_zip(data, budget) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".kml")]
        if not names:
            raise GeoError("bad_kml", N_("The KML file cannot be read: %(detail)s"),
                           detail="no .kml document in the KMZ")
        name = "doc.kml" if "doc.kml" in names else names[0]
        return _read_kml(member_chunks(archive, name, budget), budget)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _KmlReader:
    """KML read as a stream of expat events, keeping only the polygons' coordinates.

    Nothing else of the document is kept, so memory follows the zone, not the file; the
    budget is charged for each placemark as it starts and for positions as their text
    arrives, and a DOCTYPE (KML never needs one; entity expansion hides behind it) is
    refused outright.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.parser = expat.ParserCreate(namespace_separator="}")
        self.parser.buffer_text = True
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.stack: list[str] = []
        self.root: str | None = None
        self.placemarks = 0
        self.polygons: list[list] = []
        self.other: str | None = None  # the first point or line met (ignored beside areas)
        self.polygon: dict | None = None  # the <Polygon> being read: its outer and inner rings
        self.boundary: str | None = None  # "outerBoundaryIs" or "innerBoundaryIs"
        self.ring: list | None = None  # positions of the <coordinates> being read
        self.pending = ""  # its text not yet parsed (a position may be cut between two events)

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            raise _bad_kml(str(exc)[:200]) from None

    def _doctype(self, *_args) -> None:
        raise GeoError("kml_doctype",
                       N_("The KML file declares a DOCTYPE or entities, which KML never needs; "
                          "export it again without them."))

    def _start(self, tag: str, _attrs) -> None:
        name = _local(tag)
        if self.root is None:
            self.root = name
        self.stack.append(name)
        if len(self.stack) > self.budget.limits.max_xml_depth:
            raise GeoError("too_deep", N_("The file is nested too deeply (more than %(limit)d levels)."),
                           limit=self.budget.limits.max_xml_depth)
        if name == "Placemark":
            self.placemarks += 1
            self.budget.charge_features()
        elif name == "Polygon":
            self.polygon = {"outer": [], "inner": []}
            self.boundary = None
        elif name in ("outerBoundaryIs", "innerBoundaryIs") and self.polygon is not None:
            self.boundary = name
        elif name == "coordinates" and self.polygon is not None and self.boundary is not None:
            self.ring, self.pending = [], ""
        elif name in ("Point", "LineString", "Track", "gx:Track") and self.other is None:
            self.other = name

    def _text(self, text: str) -> None:
        """Coordinates are parsed (and their vertices charged) as their text arrives, up to
        the last whole position, so a ring of millions stops at the limit, not at its end."""
        if self.ring is None:
            return
        self.pending += text
        if len(self.pending) > _TEXT_CHUNK // 16:
            last_space = max(self.pending.rfind(c) for c in " \t\r\n")
            if last_space < 0:
                raise _bad_kml(f"bad coordinate {self.pending[:40]!r}")
            self._take(self.pending[:last_space])
            self.pending = self.pending[last_space:]

    def _take(self, text: str) -> None:
        positions = _kml_coords(text)
        self.budget.charge_vertices(len(positions))
        self.ring.extend(positions)

    def _end(self, tag: str) -> None:
        name = self.stack.pop() if self.stack else _local(tag)
        if name == "coordinates" and self.ring is not None:
            self._take(self.pending)
            self.polygon["outer" if self.boundary == "outerBoundaryIs" else "inner"].append(self.ring)
            self.ring, self.pending = None, ""
        elif name in ("outerBoundaryIs", "innerBoundaryIs"):
            self.boundary = None
        elif name == "Polygon" and self.polygon is not None:
            if not self.polygon["outer"]:
                raise _bad_kml("a <Polygon> has no <outerBoundaryIs>")
            self.polygons.append([self.polygon["outer"][0], *self.polygon["inner"]])
            self.polygon = None
            if len(self.polygons) > MAX_POLYGONS:  # refused by zone_from_polygons: stop reading now
                raise_too_many_areas()


def _read_kml(chunks: Iterable[bytes], budget: Budget) -> Zone:
    reader = _KmlReader(budget)
    for chunk in chunks:
        budget.check_time()
        reader.feed(chunk)
    reader.feed(b"", final=True)
    if reader.root != "kml" and not reader.placemarks:
        raise _bad_kml("no <kml> root element")
    if not reader.polygons:
        if reader.other:
            refuse_non_area(reader.other)
        raise GeoError("empty", N_("The zone is empty: it has no coordinates."))
    return zone_from_polygons(reader.polygons, origin={"format": "kml"},
                              notes=[NOTE_IGNORED] if reader.other else [])


def _bad_kml(detail: str) -> GeoError:
    return GeoError("bad_kml", N_("The KML file cannot be read: %(detail)s"), detail=detail)


def _kml_coords(text: str | None) -> list:
    ring = []
    for token in (text or "").split():
        parts = token.split(",")
        try:
            if len(parts) < 2:
                raise ValueError
            lon, lat = float(parts[0]), float(parts[1])
        except ValueError:
            raise _bad_kml(f"bad coordinate {token[:40]!r}") from None
        ring.append([lon, lat])
    return ring


# --------------------------------------------------------------------------- Shapefile / GeoPackage


def _parse_zip(data: bytes, budget: Budget) -> Zone:
    with open_zip(data, budget) as archive:
        names = archive.namelist()
    if any(n.lower().endswith(".shp") for n in names):
        return parse_shapefile_zip(data, budget)
    if any(n.lower().endswith(".kml") for n in names):
        return parse_kmz(data, budget)
    if any(n.lower().endswith(".gpkg") for n in names):
        with open_zip(data, budget) as archive:
            name = next(n for n in names if n.lower().endswith(".gpkg"))
            return parse_geopackage(read_member(archive, name, budget), budget)
    raise GeoError("no_shapefile",
                   N_("The zip file holds no Shapefile (.shp with its .shx, .dbf and .prj)."))


def parse_shapefile_zip(data: bytes, budget: Budget | None = None) -> Zone:
    """A zipped Shapefile: one .shp with its .shx, .dbf and (required) .prj."""
    budget = budget or Budget()
    with open_zip(data, budget) as archive:
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
        # The index (.shx) is a 100-byte header and 8 bytes a feature: its size counts the
        # features before anything is unpacked. A header that lies is caught as the members
        # are unpacked (their real size must match it).
        declared = (archive.getinfo(members[".shx"]).file_size - 100) // 8
        if declared > budget.limits.max_features:
            raise_too_many_features(budget.limits.max_features)
        with tempfile.TemporaryDirectory(prefix="zone-") as tmp:
            for ext, member in members.items():
                with open(Path(tmp, "zone" + ext), "wb") as out:
                    for chunk in member_chunks(archive, member, budget):
                        out.write(chunk)
            return _read_layer_file(Path(tmp, "zone.shp"), "shapefile", budget)


def parse_geopackage(data: bytes, budget: Budget | None = None) -> Zone:
    """A GeoPackage with one layer of areas (its CRS is reprojected to WGS 84)."""
    budget = budget or Budget()
    with tempfile.TemporaryDirectory(prefix="zone-") as tmp:
        path = Path(tmp, "zone.gpkg")
        path.write_bytes(data)
        layer = _geopackage_layer(path, budget)
        return _read_layer_file(path, "geopackage", budget, layer=layer)


def _geopackage_layer(path: Path, budget: Budget) -> str:
    """The name of the GeoPackage's one layer of features, looked at with SQLite before GDAL
    opens the file.

    A GeoPackage is a database, and a database can compute: a view (even a recursive one,
    rows without end), a generated column, a virtual table. GDAL would run them while
    reading. So the file is opened read-only, with SQLite's own limits and a progress
    handler on the clock, and any view, virtual table other than a spatial index, or
    generated column is refused; the layer must be a plain table listed as `features` in
    `gpkg_contents`, holding at most the feature limit."""
    def bad(detail: str) -> GeoError:
        return GeoError("bad_file", N_("The file cannot be read as %(format)s: %(detail)s"),
                        format="GeoPackage", detail=detail[:200])

    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise bad(str(exc)) from None
    # any statement that runs past the deadline is interrupted (a non-zero answer stops it)
    connection.set_progress_handler(lambda: int(budget.expired()), 10_000)
    try:
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 64 * 1024 * 1024)
        connection.execute("PRAGMA trusted_schema = OFF")
        schema = connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        views = [name for kind, name, _sql in schema if kind == "view"]
        if views:
            raise GeoError(
                "gpkg_view",
                N_("The GeoPackage holds a view (%(name)s), a query computed when read; only tables are "
                   "read: export the zone's layer as a plain table."),
                name=str(views[0])[:100])
        # SQLite's names ignore case: tables by lower-case name -> (name, sql)
        tables = {str(name).lower(): (str(name), sql or "") for kind, name, sql in schema if kind == "table"}
        for name, sql in tables.values():
            if re.match(r"(?is)\s*create\s+virtual\s+table", sql) and not re.search(r"(?is)\busing\s+rtree", sql):
                raise _computed(name)
        if "gpkg_contents" not in tables:
            raise bad("no gpkg_contents table")
        contents = connection.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall()
        features = [str(name) for name, kind in contents if kind == "features"]
        if not features:
            others = [str(name) for name, _kind in contents]
            if others:
                raise GeoError(
                    "gpkg_no_features",
                    N_("The GeoPackage has no layer of features: its tables (%(tables)s) have no geometry."),
                    tables=", ".join(others[:10]))
            raise GeoError("empty", N_("The zone is empty: it has no coordinates."))
        if len(features) > 1:
            raise GeoError(
                "several_layers",
                N_("The GeoPackage has several layers (%(layers)s); keep only the zone's layer."),
                layers=", ".join(features[:10]))
        layer = features[0]
        if layer.lower() not in tables:
            raise bad(f"the layer {layer[:80]} is not a table")
        quoted = '"' + layer.replace('"', '""') + '"'
        columns = connection.execute(f"PRAGMA table_xinfo({quoted})").fetchall()
        if any(column[6] in (2, 3) for column in columns):  # hidden: 2 virtual, 3 stored generated
            raise _computed(layer)
        (count,) = connection.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {quoted} LIMIT ?)", (budget.limits.max_features + 1,)).fetchone()
        if count > budget.limits.max_features:
            raise_too_many_features(budget.limits.max_features)
        return layer
    except sqlite3.OperationalError as exc:
        budget.check_time()
        raise bad(str(exc)) from None
    except sqlite3.Error as exc:
        raise bad(str(exc)) from None
    finally:
        connection.close()


def _computed(name: str) -> GeoError:
    return GeoError(
        "gpkg_computed",
        N_("The GeoPackage's table %(name)s computes its values when read (a virtual table or a "
           "generated column); export the zone's layer as a plain table."),
        name=str(name)[:100])


def _read_layer_file(path: Path, fmt: str, budget: Budget, layer: str | None = None) -> Zone:
    """The layer's geometries, read a chunk of features at a time (no attributes), each
    chunk's features and vertices charged before the next is read."""
    import pyogrio

    def unreadable(exc: Exception) -> GeoError:
        return GeoError("bad_file", N_("The file cannot be read as %(format)s: %(detail)s"),
                        format=fmt, detail=str(exc)[:200])

    geoms: list = []
    crs = None
    offset = 0
    while True:
        budget.check_time()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                frame = pyogrio.read_dataframe(path, layer=layer, columns=[], skip_features=offset,
                                               max_features=_LAYER_CHUNK)
        except Exception as exc:  # noqa: BLE001 - GDAL errors come in many types
            raise unreadable(exc) from None
        if offset == 0:
            crs = frame.crs
            if crs is None:
                raise GeoError(
                    "no_crs",
                    N_("The file does not say which coordinate reference system it uses, so its "
                       "coordinates cannot be placed; export it again with its CRS (e.g. EPSG:4326)."))
        chunk = np.asarray(frame.geometry, dtype=object)
        budget.charge_features(len(chunk))
        budget.charge_vertices(int(shapely.get_num_coordinates(chunk).sum()) if len(chunk) else 0)
        geoms.extend(g for g in chunk if g is not None and not g.is_empty)
        if len(chunk) < _LAYER_CHUNK:
            break
        offset += len(chunk)
    budget.check_time()
    origin = {"format": fmt}
    transformer, crs_name = None, None
    if not is_wgs84(crs):
        transformer = crs_transformer(crs)
        if transformer is None:
            raise GeoError(
                "unsupported_crs",
                N_("The zone uses the coordinate reference system %(crs)s, which is not recognised; "
                   "give the zone in WGS 84 longitude/latitude (CRS84, EPSG:4326) or name an "
                   "EPSG code."), crs=str(crs.name)[:100])
        epsg = crs.to_epsg()
        crs_name = f"EPSG:{epsg}" if epsg else str(crs.name)
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
