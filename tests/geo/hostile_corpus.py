"""Hostile zone files, made on demand: small on the wire, enormous (or damaged) inside.

The tests (tests/geo/test_hostile_uploads.py, and the console and API upload tests) and the
benchmark (bench/uploads.py) read the same files from here, so what the benchmark measures
is what the tests hold. Nothing large is committed: each file is built in well under a
second, mostly by repeating precomputed compressed blocks (a deflate block that ends with
a full flush starts the next one from a clean state, so one compressed block repeated N
times is a valid stream of its input repeated N times).

`CASES` names each file and the limit it must hit (`code`, the `GeoError` code);
`hostile_file(name)` makes one, `hostile()` all of them. Every one fits the default upload
limit (MAX_UPLOAD_BYTES, 5 MB), so it reaches the zone readers through the console and the
API. `benign()` returns one small, valid file of each format: the benchmark's baseline, and
the tests' proof that the limits leave good files alone.
"""
from __future__ import annotations

import functools
import io
import json
import sqlite3
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WGS84_PRJ = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
             'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')
KML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>\n'
KML_TAIL = b"</Document></kml>\n"
PLACEMARK = (b"<Placemark><name>p</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
             b"2.0,48.0 2.1,48.0 2.1,48.1 2.0,48.0</coordinates></LinearRing></outerBoundaryIs>"
             b"</Polygon></Placemark>\n")
PARIS_RING = [[2.0, 48.6], [2.7, 48.6], [2.7, 49.1], [2.0, 49.1], [2.0, 48.6]]


@dataclass(frozen=True)
class HostileFile:
    name: str  # a short, stable id
    filename: str  # as uploaded (the extension picks the reader)
    data: bytes
    code: str  # the GeoError code of the limit it must hit
    what: str  # one line for the benchmark's table

    @property
    def format(self) -> str:
        return FORMAT_OF[self.filename.rsplit(".", 1)[-1]]


FORMAT_OF = {"gpkg": "geopackage", "kmz": "kmz", "kml": "kml", "zip": "shapefile", "geojson": "geojson", "wkt": "wkt"}


# --------------------------------------------------------------------------- zips


def repeated_deflate(head: bytes, body: bytes, times: int, tail: bytes = b"") -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of head + body * times + tail, without ever
    holding or compressing the repeated body more than twice."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(body) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(body) + comp.flush(zlib.Z_FULL_FLUSH)
    assert block == again, "a full flush must make the blocks identical"
    last = comp.compress(tail) + comp.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(body, crc)
    crc = zlib.crc32(tail, crc) & 0xFFFFFFFF
    return first + block * times + last, crc, len(head) + len(body) * times + len(tail)


@dataclass
class RawMember:
    name: str
    payload: bytes  # as stored in the archive (already compressed)
    crc: int
    size: int  # the uncompressed size the headers declare (a bomb lies here)
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0


def raw_zip(members: list[RawMember]) -> bytes:
    """A zip written byte by byte, so that its headers can say anything."""
    out = io.BytesIO()
    central = []
    for m in members:
        offset = out.tell()
        name = m.name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m.flags, m.method, 0, 0x21,
                              m.crc, len(m.payload), m.size, len(name), 0))
        out.write(name)
        out.write(m.payload)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.flags, m.method, 0, 0x21,
                                   m.crc, len(m.payload), m.size, len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    for entry in central:
        out.write(entry)
    size = out.tell() - start
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()


def deflated(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def kml_member(data: bytes, name: str = "doc.kml", **changes) -> RawMember:
    fields = {"name": name, "payload": deflated(data), "crc": zlib.crc32(data), "size": len(data)}
    fields.update(changes)
    return RawMember(**fields)


def zip_bomb_kmz() -> bytes:
    """A KML document padded with 4.2 GB of spaces (valid XML all the way), deflated to
    about 4 MB, whose headers declare 1 KB."""
    payload, crc, _size = repeated_deflate(KML_HEAD, b" " * (1 << 20), 4000)
    return raw_zip([RawMember("doc.kml", payload, crc, 1024)])


def many_placemarks_kmz(megabytes: int = 95) -> bytes:
    """About 95 MB of KML, placemarks of one small triangle each, honestly declared."""
    body = PLACEMARK * 10_000
    payload, crc, size = repeated_deflate(KML_HEAD, body, megabytes * (1 << 20) // len(body), KML_TAIL)
    return raw_zip([RawMember("doc.kml", payload, crc, size)])


def pins_kml(count: int = 40_000) -> bytes:
    pin = b"<Placemark><Point><coordinates>2.35,48.85</coordinates></Point></Placemark>\n"
    return KML_HEAD + pin * count + KML_TAIL


def paris_ring(vertices: int = 5) -> list[list[float]]:
    """A closed ring around Paris: the box of PARIS_RING, or an ellipse of `vertices` points."""
    if vertices <= 5:
        return PARIS_RING
    t = np.linspace(0, 2 * np.pi, vertices)[:-1]
    points = np.stack([2.35 + 0.3 * np.cos(t), 48.85 + 0.2 * np.sin(t)], axis=1).round(6).tolist()
    return [*points, points[0]]


def paris_kml(extra: bytes = b"", vertices: int = 5) -> bytes:
    coords = " ".join(f"{lon},{lat}" for lon, lat in paris_ring(vertices)).encode()
    return (KML_HEAD + b"<Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>" + coords
            + b"</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>" + extra + KML_TAIL)


def encrypted_kmz() -> bytes:
    return raw_zip([kml_member(paris_kml(), flags=0x1)])


def unknown_method_kmz() -> bytes:
    """Method 99 (WinZip AES), which zipfile does not read."""
    return raw_zip([kml_member(paris_kml(), method=99)])


def bzip2_kmz() -> bytes:
    """Method 12 (bzip2): zipfile decompresses it without an output bound, so it is refused."""
    import bz2

    data = paris_kml()
    return raw_zip([RawMember("doc.kml", bz2.compress(data), zlib.crc32(data), len(data), method=zipfile.ZIP_BZIP2)])


def corrupt_kmz() -> bytes:
    """Headers intact, deflate data damaged in the middle."""
    member = kml_member(paris_kml(b"<!--" + b"x" * 5000 + b"-->"))
    payload = bytearray(member.payload)
    payload[len(payload) // 3: len(payload) // 3 + 40] = b"\xff" * 40
    member.payload = bytes(payload)
    return raw_zip([member])


def bad_crc_kmz() -> bytes:
    return raw_zip([kml_member(paris_kml(), crc=0x12345678)])


def many_members_zip(count: int = 30_000) -> bytes:
    empty = deflated(b"")
    return raw_zip([RawMember(f"{i}.kml", empty, 0, 0) for i in range(count)])


# --------------------------------------------------------------------------- Shapefile


def shapefile_parts(count: int) -> dict[str, bytes]:
    """A Shapefile of `count` small triangles on a grid, written with numpy."""
    i = np.arange(count)
    # ten places, repeated: a short period keeps the zip small, as an attacker would
    x = -179.9 + (i % 10) * 0.1
    y = np.full(count, -80.0)
    d = 0.05
    # outer rings clockwise: (x,y) (x,y+d) (x+d,y) (x,y)
    px = np.stack([x, x, x + d, x], axis=1)
    py = np.stack([y, y + d, y, y], axis=1)
    content_words = (4 + 32 + 4 + 4 + 4 + 4 * 16) // 2
    rec = np.zeros(count, dtype=[("num", ">i4"), ("len", ">i4"), ("type", "<i4"), ("bbox", "<f8", 4),
                                 ("nparts", "<i4"), ("npoints", "<i4"), ("part0", "<i4"), ("pts", "<f8", 8)])
    rec["num"] = i + 1
    rec["len"] = content_words
    rec["type"] = 5
    rec["bbox"] = np.stack([x, y, x + d, y + d], axis=1)
    rec["nparts"] = 1
    rec["npoints"] = 4
    rec["pts"] = np.stack([px, py], axis=2).reshape(count, 8)
    shp_body = rec.tobytes()
    bbox = (float(x.min()), float(y.min()), float(x.max() + d), float(y.max() + d))

    def header(length_bytes: int) -> bytes:
        return (struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_bytes // 2)
                + struct.pack("<2i4d4d", 1000, 5, *bbox, 0, 0, 0, 0))

    shp = header(100 + len(shp_body)) + shp_body
    idx = np.zeros(count, dtype=[("offset", ">i4"), ("len", ">i4")])
    idx["offset"] = (100 + i * (8 + content_words * 2)) // 2
    idx["len"] = content_words
    shx = header(100 + 8 * count) + idx.tobytes()
    field = b"ID".ljust(11, b"\x00") + b"C" + b"\x00" * 4 + bytes([1, 0]) + b"\x00" * 14
    dbf = (struct.pack("<4BIHH20x", 3, 124, 1, 1, count, 32 + 32 + 1, 2) + field + b"\x0d"
           + b" x" * count + b"\x1a")
    return {"zone.shp": shp, "zone.shx": shx, "zone.dbf": dbf, "zone.prj": WGS84_PRJ.encode()}


def shapefile_zip(parts: dict[str, bytes], level: int = 1) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# --------------------------------------------------------------------------- GeoPackage


def gpkg_blob(ring: list[list[float]], srs_id: int = 4326) -> bytes:
    wkb = struct.pack("<BIII", 1, 3, 1, len(ring)) + b"".join(struct.pack("<2d", *p) for p in ring)
    return b"GP" + bytes([0, 1]) + struct.pack("<i", srs_id) + wkb


def geopackage(build) -> bytes:
    """A GeoPackage's bytes: the required tables, then `build(connection)` adds the rest."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "x.gpkg")
        con = sqlite3.connect(path)
        con.executescript("""
            PRAGMA application_id = 1196444487;
            PRAGMA user_version = 10300;
            CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
              organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
              definition TEXT NOT NULL, description TEXT);
            INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84', 4326, 'EPSG', 4326,
              'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
              || 'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]', NULL);
            INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian', -1, 'NONE', -1, 'undefined', NULL);
            INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic', 0, 'NONE', 0, 'undefined', NULL);
            CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
              identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT
              (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
              srs_id INTEGER);
            CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
              geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
              CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
        """)
        build(con)
        con.commit()
        con.close()
        return path.read_bytes()


def register_layer(con, name: str) -> None:
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?, 'features', ?, 4326)",
                (name, name))
    con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POLYGON', 4326, 0, 0)", (name,))


def recursive_view_gpkg() -> bytes:
    """The zone layer is a view: a recursive query of a hundred million rows, each a polygon."""
    blob = gpkg_blob([[2.0, 48.0], [2.1, 48.0], [2.1, 48.1], [2.0, 48.0]]).hex()

    def build(con):
        con.execute(f"""CREATE VIEW zone AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
                        WHERE i < 100000000) SELECT i AS fid, X'{blob}' AS geom FROM n""")
        register_layer(con, "zone")

    return geopackage(build)


def attributes_only_gpkg() -> bytes:
    def build(con):
        con.execute("CREATE TABLE people (fid INTEGER PRIMARY KEY, name TEXT)")
        con.executemany("INSERT INTO people (name) VALUES (?)", [(f"n{i}",) for i in range(100)])
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES ('people', 'attributes', 'people')")

    return geopackage(build)


def generated_column_gpkg() -> bytes:
    """A features table whose every row computes a 500 MB blob when read."""
    blob = gpkg_blob(PARIS_RING).hex()

    def build(con):
        con.execute("CREATE TABLE zone (fid INTEGER PRIMARY KEY, geom BLOB, "
                    "pad BLOB GENERATED ALWAYS AS (zeroblob(500000000)) VIRTUAL)")
        con.execute(f"INSERT INTO zone (geom) VALUES (X'{blob}')")
        register_layer(con, "zone")

    return geopackage(build)


def many_features_gpkg(count: int = 30_000, vertices: int = 4) -> bytes:
    """`count` small separate polygons of `vertices` vertices each (the last closes the ring)."""
    angles = np.linspace(0, 2 * np.pi, vertices)[:-1]
    shape = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 0.0005

    def ring(x: float) -> list:
        points = (shape + [x, 0.0]).tolist()
        return [*points, points[0]]

    def build(con):
        con.execute("CREATE TABLE zone (fid INTEGER PRIMARY KEY, geom BLOB)")
        rows = [(gpkg_blob(ring(x)),) for x in (np.arange(count) * 0.002).tolist()]
        con.executemany("INSERT INTO zone (geom) VALUES (?)", rows)
        register_layer(con, "zone")

    return geopackage(build)


def paris_gpkg(vertices: int = 5) -> bytes:
    def build(con):
        con.execute("CREATE TABLE zone (fid INTEGER PRIMARY KEY, geom BLOB, name TEXT)")
        con.execute("INSERT INTO zone (geom, name) VALUES (?, 'paris')", (gpkg_blob(paris_ring(vertices)),))
        register_layer(con, "zone")

    return geopackage(build)


def paris_shapefile_zip(vertices: int = 5) -> bytes:
    import geopandas as gpd
    from shapely.geometry import Polygon

    with tempfile.TemporaryDirectory() as tmp:
        frame = gpd.GeoDataFrame({"name": ["paris"]}, geometry=[Polygon(paris_ring(vertices))], crs=4326)
        frame.to_file(Path(tmp, "zone.shp"))
        return shapefile_zip({p.name: p.read_bytes() for p in Path(tmp).iterdir()}, level=6)


# --------------------------------------------------------------------------- KML, GeoJSON


def deeply_nested_kml(depth: int = 200_000) -> bytes:
    return KML_HEAD + b"<Folder>" * depth + b"</Folder>" * depth + KML_TAIL


def entity_expansion_kml() -> bytes:
    """The billion laughs, in KML clothes."""
    lines = ['<!ENTITY a0 "lol">'] + [f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    doctype = "<!DOCTYPE kml [" + "".join(lines) + "]>"
    return (f'<?xml version="1.0"?>{doctype}<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<name>&a9;</name></Document></kml>").encode()


def deeply_nested_wkt(depth: int = 100_000) -> bytes:
    """Enough nesting to overflow GEOS's recursive WKT reader (the process dies)."""
    return b"GEOMETRYCOLLECTION(" * depth + b"POINT(0 0)" + b")" * depth


def huge_wkt(positions: int = 400_000) -> bytes:
    return b"POLYGON((2 48," + b"3 49," * (positions - 2) + b"2 48))"


def huge_ring_geojson(positions: int = 650_000) -> bytes:
    ring = b"[2,48]," + b"[3,49]," * (positions - 2) + b"[2,48]"
    return b'{"type":"Polygon","coordinates":[[' + ring + b"]]}"


def million_features_geojson(count: int = 1_000_000) -> bytes:
    return b'{"type":"FeatureCollection","features":[' + b",".join([b"{}"] * count) + b"]}"


def many_polygons_geojson(count: int = 20_000) -> bytes:
    """One MultiPolygon of many small separate triangles: few vertices, many areas."""
    polys = [[[[x, 0.0], [x + 0.001, 0.0], [x, 0.001], [x, 0.0]]] for x in (np.arange(count) * 0.002).tolist()]
    return json.dumps({"type": "MultiPolygon", "coordinates": polys}).encode()


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    filename: str
    build: Callable[[], bytes]
    code: str
    what: str


# name -> how to make it and the limit it must hit
CASES: dict[str, Case] = {
    "gpkg-recursive-view": Case("zone.gpkg", recursive_view_gpkg, "gpkg_view",
                                "GeoPackage whose layer is a recursive SQL view (1e8 rows)"),
    "gpkg-attributes-only": Case("zone.gpkg", attributes_only_gpkg, "gpkg_no_features",
                                 "GeoPackage with only a table without geometry"),
    "gpkg-generated-column": Case("zone.gpkg", generated_column_gpkg, "gpkg_computed",
                                  "GeoPackage layer with a generated 500 MB column"),
    "gpkg-30k-features": Case("zone.gpkg", many_features_gpkg, "too_many_features",
                              "GeoPackage layer of 30,000 triangles"),
    "gpkg-160k-vertices": Case("zone.gpkg", lambda: many_features_gpkg(8000, 20), "too_many_vertices",
                               "GeoPackage layer of 8,000 polygons of 20 vertices"),
    "kmz-bomb": Case("zone.kmz", zip_bomb_kmz, "unzipped_too_large",
                     "KMZ of 4.2 GB of deflated KML declared as 1 KB"),
    "kmz-95mb-kml": Case("zone.kmz", lambda: many_placemarks_kmz(95), "unzipped_too_large",
                         "KMZ holding 95 MB of KML (530,000 placemarks)"),
    "kmz-30mb-kml": Case("zone.kmz", lambda: many_placemarks_kmz(30), "too_many_areas",
                         "KMZ holding 30 MB of KML (170,000 placemarks, each an area)"),
    "kml-40k-pins": Case("zone.kml", pins_kml, "too_many_features", "KML of 40,000 placemarks, each a point"),
    "kml-deep": Case("zone.kml", deeply_nested_kml, "too_deep", "KML nested 200,000 folders deep"),
    "kml-entities": Case("zone.kml", entity_expansion_kml, "kml_doctype", "KML with a billion-laughs entity expansion"),
    "shapefile-650k": Case("zone.zip", lambda: shapefile_zip(shapefile_parts(650_000)), "unzipped_too_large",
                           "zipped Shapefile of 650,000 polygons (85 MB unzipped)"),
    "shapefile-200k": Case("zone.zip", lambda: shapefile_zip(shapefile_parts(200_000)), "too_many_features",
                           "zipped Shapefile of 200,000 polygons (26 MB unzipped)"),
    "zip-encrypted": Case("zone.kmz", encrypted_kmz, "encrypted_zip", "KMZ with an encrypted member"),
    "zip-method-99": Case("zone.kmz", unknown_method_kmz, "unsupported_compression",
                          "KMZ compressed with method 99 (AES)"),
    "zip-bzip2": Case("zone.kmz", bzip2_kmz, "unsupported_compression", "KMZ compressed with bzip2"),
    "zip-corrupt-data": Case("zone.kmz", corrupt_kmz, "corrupt_zip", "KMZ with damaged deflate data"),
    "zip-bad-crc": Case("zone.kmz", bad_crc_kmz, "corrupt_zip", "KMZ whose CRC does not match"),
    "zip-30k-members": Case("zone.zip", many_members_zip, "too_many_files", "zip of 30,000 members"),
    "wkt-deep": Case("zone.wkt", deeply_nested_wkt, "too_deep",
                     "WKT of geometry collections nested 100,000 deep (crashes GEOS)"),
    "wkt-400k-positions": Case("zone.wkt", huge_wkt, "too_many_vertices", "WKT polygon of 400,000 positions"),
    "geojson-650k-positions": Case("zone.geojson", huge_ring_geojson, "too_many_vertices",
                                   "GeoJSON ring of 650,000 positions"),
    "geojson-1m-features": Case("zone.geojson", million_features_geojson, "too_many_features",
                                "GeoJSON FeatureCollection of 1,000,000 features"),
    "geojson-20k-areas": Case("zone.geojson", many_polygons_geojson, "too_many_areas",
                              "GeoJSON MultiPolygon of 20,000 separate triangles"),
}


@functools.lru_cache(maxsize=4)
def hostile_file(name: str) -> HostileFile:
    """One corpus file, made once per process (the last few are kept)."""
    case = CASES[name]
    return HostileFile(name, case.filename, case.build(), case.code, case.what)


def hostile() -> list[HostileFile]:
    """Every hostile file, in a stable order."""
    return [hostile_file(name) for name in CASES]


def benign(vertices: int = 5) -> dict[str, tuple[str, bytes]]:
    """One valid zone per format, a ring of `vertices` points around Paris (a box by
    default; the benchmark's baseline takes a large one): format -> (filename, data)."""
    kml = paris_kml(vertices=vertices)
    return {
        "geopackage": ("zone.gpkg", paris_gpkg(vertices)),
        "kmz": ("zone.kmz", raw_zip([kml_member(kml)])),
        "kml": ("zone.kml", kml),
        "shapefile": ("zone.zip", paris_shapefile_zip(vertices)),
        "geojson": ("zone.geojson", json.dumps({"type": "Polygon", "coordinates": [paris_ring(vertices)]}).encode()),
        "wkt": ("zone.wkt", ("POLYGON((" + ", ".join(f"{x} {y}" for x, y in paris_ring(vertices)) + "))").encode()),
    }
