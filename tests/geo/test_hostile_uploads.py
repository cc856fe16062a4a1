"""Hostile zone files stop at the limit they cross, while they are read, within bounded memory.

Each corpus file (tests/geo/hostile_corpus.py; bench/uploads.py measures the same ones) is
read in a forked child whose peak memory is measured: the file must be refused with the
`GeoError` of the limit it was built to cross, and the child's peak must stay within 200 MB
of where it started. Then the limits themselves: each one configurable, each one reached in
the middle of a read, and none of them in the way of good files.
"""
from __future__ import annotations

import io
import json
import multiprocessing
import re
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geo import limits as upload_limits
from geo.errors import GeoError
from geo.formats import parse_upload
from geo.limits import UploadLimits
from geo.zones import MAX_POLYGONS, parse_geojson
from tests.geo import hostile_corpus as corpus

PEAK_LIMIT_MB = 200



@pytest.fixture(autouse=True)
def unhurried_reading(monkeypatch):
    """Which limit refuses a file must not depend on how busy the machine is; the time limit
    has tests of its own (seconds=0)."""
    monkeypatch.setattr(upload_limits, "TIME_LIMIT_SECONDS", 120.0)


def _kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def _read_in_child(filename: str, data: bytes, conn) -> None:
    start = _kb("VmRSS")
    try:
        parse_upload(filename, data)
        outcome = ("accepted", "")
    except GeoError as err:
        outcome = (err.code, str(err))
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which fails the test
        outcome = ("crashed", f"{type(err).__name__}: {err}")
    conn.send((*outcome, (_kb("VmHWM") - start) / 1024))
    conn.close()


def read_in_child(filename: str, data: bytes) -> tuple[str, str, float]:
    """(error code, message, peak MB above the child's start) of reading the file in a
    forked child, so that its memory is its own to measure."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_read_in_child, args=(filename, data, child))
    process.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:  # the child died before answering: a crash in C code
        process.join()
        return ("died", f"the reading process died (exit code {process.exitcode})", 0.0)
    process.join()
    return result


@pytest.mark.parametrize("name", list(corpus.CASES))
def test_a_hostile_file_is_refused_at_its_limit_with_bounded_memory(name):
    hostile = corpus.hostile_file(name)
    code, message, peak_mb = read_in_child(hostile.filename, hostile.data)
    assert code == hostile.code, message
    assert message and "%(" not in message
    assert peak_mb < PEAK_LIMIT_MB, f"{name}: {peak_mb:.0f} MB above the start"


@pytest.mark.parametrize("fmt", sorted(corpus.benign()))
def test_the_benign_file_of_each_format_is_read(fmt):
    filename, data = corpus.benign()[fmt]
    zone = parse_upload(filename, data)
    assert zone.geometry.area > 0


def code_of(filename: str, data: bytes, **limits) -> str:
    with pytest.raises(GeoError) as info:
        parse_upload(filename, data, UploadLimits(**limits) if limits else None)
    return info.value.code


# --------------------------------------------------------------------------- zips


def test_a_zip_bomb_is_stopped_by_the_bytes_really_unzipped_not_by_its_header():
    bomb = corpus.hostile_file("kmz-bomb").data
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert archive.getinfo("doc.kml").file_size == 1024  # the header's lie
    assert code_of("zone.kmz", bomb) == "unzipped_too_large"
    # the same stream, honestly declared, is refused from its header before any unzipping
    honest = corpus.hostile_file("kmz-95mb-kml").data
    assert code_of("zone.kmz", honest) == "unzipped_too_large"


def test_the_unzipped_limit_counts_every_member_read():
    kml = corpus.paris_kml(b"<!--" + b" " * 50_000 + b"-->")
    data = corpus.raw_zip([corpus.kml_member(kml)])
    assert parse_upload("zone.kmz", data).geometry.area > 0
    assert code_of("zone.kmz", data, max_unzipped_bytes=40_000) == "unzipped_too_large"


def test_a_member_longer_than_its_header_says_is_damaged_not_read():
    kml = corpus.paris_kml()
    data = corpus.raw_zip([corpus.kml_member(kml, size=len(kml) - 10)])
    assert code_of("zone.kmz", data) == "corrupt_zip"


@pytest.mark.parametrize("data", [b"PK\x03\x04 not really", b"PK\x05\x06" + b"\x00" * 18 + b"junk",
                                  corpus.encrypted_kmz()[:-30]])
def test_broken_zips_are_refused_without_a_crash(data):
    assert code_of("zone.zip", data) in ("bad_zip", "corrupt_zip", "no_shapefile")


# --------------------------------------------------------------------------- layers


def write_shapefile_zip(tmp_path, frame) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "zone.shp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in folder.iterdir():
            archive.write(path, path.name)
    return buffer.getvalue()


def squares(count: int, size: float = 0.004) -> gpd.GeoDataFrame:
    xs = (np.arange(count) % 100) * 0.01
    ys = (np.arange(count) // 100) * 0.01
    return gpd.GeoDataFrame({"n": np.arange(count)}, geometry=[box(x, y, x + size, y + size) for x, y in zip(xs, ys)],
                            crs=4326)


def test_a_layer_is_read_in_chunks_to_its_last_feature(tmp_path):
    frame = squares(1200)  # more than two chunks
    zone = parse_upload("zone.zip", write_shapefile_zip(tmp_path, frame))
    last = frame.geometry.iloc[-1].centroid
    assert zone.contains([last.x], [last.y]).tolist() == [True]
    path = tmp_path / "zone.gpkg"
    frame.to_file(path, driver="GPKG")
    assert parse_upload("zone.gpkg", path.read_bytes()).contains([last.x], [last.y]).tolist() == [True]


def test_a_layer_stops_at_the_vertex_limit_in_the_middle_of_its_reading(tmp_path):
    data = write_shapefile_zip(tmp_path, squares(1200))
    assert code_of("zone.zip", data, max_vertices=5 * 700) == "too_many_vertices"  # in the second chunk
    assert code_of("zone.zip", data, max_features=1000) == "too_many_features"  # counted from the index
    assert parse_upload("zone.zip", data, UploadLimits(max_features=1200, max_vertices=6000)).geometry.area > 0


def test_a_shapefile_index_that_counts_too_many_features_is_refused_before_unzipping():
    data = corpus.shapefile_zip(corpus.shapefile_parts(2000))
    assert code_of("zone.zip", data, max_features=1999) == "too_many_features"
    assert parse_upload("zone.zip", data, UploadLimits(max_features=2000)).geometry.area > 0


def test_the_clock_is_checked_while_reading():
    filename, data = corpus.benign()["kml"]
    assert code_of(filename, data, seconds=0) == "too_slow"
    filename, data = corpus.benign()["shapefile"]
    assert code_of(filename, data, seconds=0) == "too_slow"


def test_a_view_anywhere_in_a_geopackage_is_refused(tmp_path):
    def build(con):
        con.execute("CREATE TABLE zone (fid INTEGER PRIMARY KEY, geom BLOB)")
        con.execute("INSERT INTO zone (geom) VALUES (?)", (corpus.gpkg_blob(corpus.PARIS_RING),))
        corpus.register_layer(con, "zone")
        con.execute("CREATE VIEW gpkg_extensions AS SELECT 1 AS x")

    with pytest.raises(GeoError) as info:
        parse_upload("zone.gpkg", corpus.geopackage(build))
    assert info.value.code == "gpkg_view" and "gpkg_extensions" in str(info.value)


def test_a_virtual_table_other_than_a_spatial_index_is_refused():
    def build(con):
        con.execute("CREATE TABLE zone (fid INTEGER PRIMARY KEY, geom BLOB)")
        con.execute("INSERT INTO zone (geom) VALUES (?)", (corpus.gpkg_blob(corpus.PARIS_RING),))
        corpus.register_layer(con, "zone")
        con.execute("CREATE VIRTUAL TABLE rtree_zone_geom USING rtree(id, minx, maxx, miny, maxy)")
        con.execute("CREATE VIRTUAL TABLE notes USING fts5(body)")

    assert code_of("zone.gpkg", corpus.geopackage(build)) == "gpkg_computed"


def test_a_geopackage_with_a_spatial_index_is_read(tmp_path):
    path = tmp_path / "zone.gpkg"
    squares(3).to_file(path, driver="GPKG", SPATIAL_INDEX="YES")
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE sql LIKE '%USING rtree%'").fetchone()[0] == 1
    assert parse_upload("zone.gpkg", path.read_bytes()).geometry.area > 0


def test_a_plain_sqlite_database_is_not_a_geopackage(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x)")
    assert code_of("zone.gpkg", path.read_bytes()) == "bad_file"


# --------------------------------------------------------------------------- KML, GeoJSON, areas


def test_kml_depth_and_placemark_limits_are_the_uploads_own():
    filename, data = corpus.benign()["kml"]
    assert code_of(filename, data, max_xml_depth=3) == "too_deep"
    assert code_of(filename, data, max_features=0) == "too_many_features"


def test_a_kml_ring_longer_than_the_vertex_limit_stops_while_its_text_is_read():
    coords = b"2,48 " + b"2.5,48.5 " * 200_000 + b"2,48"
    kml = corpus.KML_HEAD + (b"<Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>" + coords
                             + b"</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>") + corpus.KML_TAIL
    assert code_of("zone.kml", kml) == "too_many_vertices"


def test_a_long_ring_written_verbosely_is_read_whole():
    ring = corpus.paris_ring(30_000)
    coords = "\n".join(f"            {lon:.12f},{lat:.12f},0.000000" for lon, lat in ring).encode()
    kml = corpus.KML_HEAD + (b"<Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>" + coords
                             + b"</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>") + corpus.KML_TAIL
    assert len(kml) > 1_500_000
    zone = parse_upload("zone.kml", kml)
    assert zone.source()["vertices"] >= 29_000
    assert zone.contains([2.35, 2.35 + 0.29, 2.35 + 0.31], [48.85, 48.85, 48.85]).tolist() == [True, True, False]


def test_geojson_feature_count_is_checked_before_the_zone_is_built():
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [corpus.PARIS_RING]}}
    data = json.dumps({"type": "FeatureCollection", "features": [feature] * 30}).encode()
    assert parse_upload("zone.geojson", data).geometry.area > 0
    assert code_of("zone.geojson", data, max_features=29) == "too_many_features"


def test_every_way_of_giving_a_zone_holds_at_most_the_area_limit():
    polys = [[[[x, 0.0], [x + 0.001, 0.0], [x, 0.001], [x, 0.0]]] for x in (np.arange(MAX_POLYGONS + 1) * 0.002).tolist()]
    with pytest.raises(GeoError) as info:
        parse_geojson({"type": "MultiPolygon", "coordinates": polys})
    assert info.value.code == "too_many_areas"
    assert parse_geojson({"type": "MultiPolygon", "coordinates": polys[:MAX_POLYGONS]}).geometry.area > 0
