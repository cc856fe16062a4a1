"""Every way a coordinator gives a zone besides drawing it: files, WKT, CAP, countries."""
from __future__ import annotations

import io
import json
import zipfile

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from geo.errors import GeoError
from geo.formats import countries_zone, parse_cap_area, parse_upload, parse_zone_text
from geo.sources import parse_zone_argument, zone_from_stored

PARIS = (2.35, 48.85)  # lon, lat
LYON = (4.84, 45.76)
SUVA = (178.44, -18.14)
APIA = (-171.76, -13.83)


def inside(zone, *points):
    lons, lats = zip(*points)
    return zone.contains(np.array(lons), np.array(lats)).tolist()


def code_of(func, *args, **kwargs) -> str:
    with pytest.raises(GeoError) as info:
        func(*args, **kwargs)
    assert str(info.value)
    return info.value.code


def paris_box_kml(extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>Paris</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>
2.0,48.6,0 2.7,48.6,0 2.7,49.1,0 2.0,49.1,0 2.0,48.6,0
</coordinates></LinearRing></outerBoundaryIs>
<innerBoundaryIs><LinearRing><coordinates>2.3,48.8 2.4,48.8 2.4,48.9 2.3,48.9 2.3,48.8</coordinates></LinearRing></innerBoundaryIs>
</Polygon></Placemark>{extra}</Document></kml>""".encode()


# --------------------------------------------------------------------------- KML


def test_kml_polygon_with_a_hole_is_read_as_lon_lat():
    zone = parse_upload("zone.kml", paris_box_kml())
    assert inside(zone, (2.1, 48.7), PARIS, LYON) == [True, False, False]
    assert zone.source()["format"] == "kml"


def test_kml_pins_beside_the_area_are_ignored_and_the_note_says_so():
    pin = "<Placemark><Point><coordinates>2.35,48.85</coordinates></Point></Placemark>"
    zone = parse_upload("zone.kml", paris_box_kml(pin))
    assert zone.note and "ignored" in zone.note


def test_kml_with_only_a_line_is_refused_with_advice_to_use_a_corridor():
    kml = b"""<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><LineString>
    <coordinates>2,48 3,49</coordinates></LineString></Placemark></kml>"""
    with pytest.raises(GeoError) as info:
        parse_upload("track.kml", kml)
    assert info.value.code == "unsupported_geometry"
    assert "corridor" in str(info.value)


@pytest.mark.parametrize("data", [b"<kml><Placemark>", b"<kml></kml>", b"<not-kml/>"])
def test_broken_or_empty_kml_is_refused(data):
    assert code_of(parse_upload, "zone.kml", data) in ("bad_kml", "empty")


def test_kmz_is_unzipped_and_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("doc.kml", paris_box_kml())
    zone = parse_upload("zone.kmz", buffer.getvalue())
    assert inside(zone, (2.1, 48.7)) == [True]


def test_kml_crossing_the_antimeridian_is_split():
    kml = b"""<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon><outerBoundaryIs>
    <LinearRing><coordinates>177,-20 -170,-20 -170,-12 177,-12 177,-20</coordinates></LinearRing>
    </outerBoundaryIs></Polygon></Placemark></kml>"""
    zone = parse_upload("fiji-samoa.kml", kml)
    assert inside(zone, SUVA, APIA, (0, -15)) == [True, True, False]


# --------------------------------------------------------------------------- Shapefile, GeoPackage


def write_shapefile_zip(tmp_path, frame, *, drop=()) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "zone.shp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            if path.suffix not in drop:
                archive.write(path, f"export/{path.name}")
    return buffer.getvalue()


def test_zipped_shapefile_in_a_projected_crs_is_reprojected(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["idf"]}, geometry=[box(2.0, 48.6, 2.7, 49.1)], crs=4326)
    data = write_shapefile_zip(tmp_path, frame.to_crs(2154))  # Lambert-93, metres
    zone = parse_upload("zone.zip", data)
    assert inside(zone, PARIS, LYON) == [True, False]
    assert zone.source()["crs"] == "EPSG:2154"
    assert "converted" in zone.note


def test_zipped_shapefile_in_wgs84_has_no_note(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["idf"]}, geometry=[box(2.0, 48.6, 2.7, 49.1)], crs=4326)
    zone = parse_upload("zone.zip", write_shapefile_zip(tmp_path, frame))
    assert inside(zone, PARIS) == [True] and zone.note is None


def test_shapefile_without_prj_is_refused_because_its_crs_is_unknown(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["idf"]}, geometry=[box(2.0, 48.6, 2.7, 49.1)], crs=4326)
    data = write_shapefile_zip(tmp_path, frame, drop=(".prj",))
    with pytest.raises(GeoError) as info:
        parse_upload("zone.zip", data)
    assert info.value.code == "no_crs" and ".prj" in str(info.value)


def test_shapefile_without_dbf_is_refused(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["idf"]}, geometry=[box(2.0, 48.6, 2.7, 49.1)], crs=4326)
    assert code_of(parse_upload, "zone.zip",
                   write_shapefile_zip(tmp_path, frame, drop=(".dbf",))) == "incomplete_shapefile"


def test_a_lone_shp_file_is_refused_with_advice_to_zip_it():
    assert code_of(parse_upload, "zone.shp", b"\x00\x00\x27\x0a") == "shapefile_not_zipped"


def test_zip_without_a_shapefile_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert code_of(parse_upload, "zone.zip", buffer.getvalue()) == "no_shapefile"


def test_corrupt_zip_is_refused():
    assert code_of(parse_upload, "zone.zip", b"PK\x03\x04 not really") == "bad_zip"


def test_shapefile_of_points_is_refused(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["p"]}, geometry=[Point(2.35, 48.85)], crs=4326)
    assert code_of(parse_upload, "zone.zip", write_shapefile_zip(tmp_path, frame)) == "unsupported_geometry"


def test_geopackage_in_utm_is_reprojected(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["idf"]}, geometry=[box(2.0, 48.6, 2.7, 49.1)], crs=4326)
    path = tmp_path / "zone.gpkg"
    frame.to_crs(32631).to_file(path, driver="GPKG")
    zone = parse_upload("zone.gpkg", path.read_bytes())
    assert inside(zone, PARIS, LYON) == [True, False]
    assert zone.source()["crs"] == "EPSG:32631"


def test_geopackage_is_recognised_by_content_without_an_extension(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["idf"]}, geometry=[box(2.0, 48.6, 2.7, 49.1)], crs=4326)
    path = tmp_path / "zone.gpkg"
    frame.to_file(path, driver="GPKG")
    assert inside(parse_upload("download", path.read_bytes()), PARIS) == [True]


def test_geopackage_with_several_layers_is_refused(tmp_path):
    path = tmp_path / "zone.gpkg"
    for layer in ("inner", "outer"):
        gpd.GeoDataFrame({"n": [1]}, geometry=[box(2, 48, 3, 49)], crs=4326).to_file(
            path, layer=layer, driver="GPKG")
    with pytest.raises(GeoError) as info:
        parse_upload("zone.gpkg", path.read_bytes())
    assert info.value.code == "several_layers" and "inner" in str(info.value)


def test_garbage_geopackage_is_refused():
    assert code_of(parse_upload, "zone.gpkg", b"SQLite format 3\x00" + b"\x00" * 100) == "bad_file"


# --------------------------------------------------------------------------- uploads in general


def test_geojson_upload_is_recognised_by_extension_and_by_content():
    data = json.dumps({"type": "Polygon", "coordinates": [[[2, 48], [3, 48], [3, 49], [2, 49], [2, 48]]]})
    assert inside(parse_upload("zone.geojson", data.encode()), PARIS) == [True]
    assert inside(parse_upload("zone", data.encode()), PARIS) == [True]


@pytest.mark.parametrize("name, data, code", [
    ("zone.geojson", b"", "empty_file"),
    ("zone.pdf", b"%PDF-1.4 whatever", "unknown_format"),
    ("zone.geojson", b"x" * (20 * 1024 * 1024 + 1), "too_large"),
    ("zone.txt", b"\xff\xfe\x00", "not_text"),
])
def test_unusable_uploads_are_refused(name, data, code):
    assert code_of(parse_upload, name, data) == code


# --------------------------------------------------------------------------- WKT


def test_wkt_polygon_is_lon_lat():
    zone = parse_zone_text("wkt", "POLYGON((2 48, 3 48, 3 49, 2 49, 2 48))")
    assert inside(zone, PARIS, LYON) == [True, False]
    assert zone.source()["format"] == "wkt"


def test_wkt_file_upload_and_multipolygon():
    text = b"MULTIPOLYGON(((2 48, 3 48, 3 49, 2 49, 2 48)), ((4 45, 5 45, 5 46, 4 46, 4 45)))"
    assert inside(parse_upload("zone.wkt", text), PARIS, LYON) == [True, True]


def test_ewkt_with_a_projected_srid_is_reprojected():
    zone = parse_zone_text("wkt", "SRID=3857;POLYGON((200000 6200000, 300000 6200000, "
                                  "300000 6300000, 200000 6300000, 200000 6200000))")
    assert inside(zone, PARIS) == [True]
    assert zone.source()["crs"] == "EPSG:3857"


@pytest.mark.parametrize("text, code", [
    ("POLYGON((2 48, 3 48", "bad_wkt"),
    ("hello", "bad_wkt"),
    ("POINT(2 48)", "unsupported_geometry"),
    ("LINESTRING(2 48, 3 49)", "unsupported_geometry"),
    ("POLYGON EMPTY", "empty"),
    ("POLYGON((2 95, 3 95, 3 96, 2 96, 2 95))", "latitude_out_of_range"),
    ("SRID=999999;POLYGON((2 48, 3 48, 3 49, 2 49, 2 48))", "unsupported_crs"),
    ("", "zone_missing"),
])
def test_bad_wkt_is_refused(text, code):
    assert code_of(parse_zone_text, "wkt", text) == code


# --------------------------------------------------------------------------- CAP


def test_cap_polygon_is_read_latitude_first():
    zone = parse_zone_text("cap_polygon", "48.0,2.0 48.0,3.0 49.0,3.0 49.0,2.0 48.0,2.0")
    assert inside(zone, PARIS, (48.5, 2.5)) == [True, False]  # (48.5, 2.5) read as lon,lat is elsewhere


def test_cap_polygon_written_lon_first_by_mistake_is_caught_when_it_cannot_be_a_latitude():
    with pytest.raises(GeoError) as info:
        parse_zone_text("cap_polygon", "-100.7,45.4 -99.5,45.4 -99.5,45.6 -100.7,45.6 -100.7,45.4")
    assert info.value.code == "latitude_out_of_range" and "latitude,longitude" in str(info.value)


@pytest.mark.parametrize("text, code", [
    ("48,2 48,3 49,3", "too_few_positions"),
    ("48,2 48,3 49,3 49,2", "unclosed_ring"),
    ("48;2 48;3 49;3 48;2", "bad_cap_polygon"),
    ("48,2 48,3 49,abc 48,2", "bad_cap_polygon"),
    ("48,200 48,3 49,3 48,200", "longitude_out_of_range"),
])
def test_bad_cap_polygons_are_refused(text, code):
    assert code_of(parse_zone_text, "cap_polygon", text) == code


def test_cap_circle_is_a_geodesic_circle_in_km():
    zone = parse_zone_text("cap_circle", "48.85,2.35 100")
    assert zone.circle == (48.85, 2.35, 100.0)
    assert inside(zone, (2.35, 49.7), (2.35, 49.8)) == [True, False]  # ~94 km and ~105 km north


@pytest.mark.parametrize("text, code", [
    ("48.85,2.35", "bad_cap_circle"),
    ("48.85,2.35 0", "circle_radius"),
    ("48.85,2.35 ten", "circle_radius"),
    ("148.85,2.35 10", "latitude_out_of_range"),
])
def test_bad_cap_circles_are_refused(text, code):
    assert code_of(parse_zone_text, "cap_circle", text) == code


def test_cap_area_with_a_polygon_and_a_circle_is_their_union():
    zone = parse_cap_area(polygons=["48,2 48,3 49,3 49,2 48,2"], circles=["45.76,4.84 20"])
    assert inside(zone, PARIS, LYON, (0, 0)) == [True, True, False]


# --------------------------------------------------------------------------- countries


def test_countries_zone_is_the_union_of_the_named_countries():
    zone = parse_zone_text("countries", "fr, be")
    assert inside(zone, PARIS, (4.35, 50.85), (13.4, 52.5)) == [True, True, False]  # Brussels, Berlin
    assert zone.kind == "countries"
    assert zone.touched_countries() == {"FR", "BE"}  # not Germany or Spain across the border


def test_countries_zone_survives_storage():
    zone = countries_zone(["FR"])
    again = zone_from_stored(zone.to_geojson(), zone.source())
    assert again.kind == "countries" and again.touched_countries() == {"FR"}
    rebuilt = zone_from_stored(None, {"kind": "countries", "codes": ["FR"]})
    assert inside(rebuilt, PARIS) == [True]


@pytest.mark.parametrize("text, code", [
    ("", "no_countries"),
    ("FR,XX", "unknown_country"),
    ("France", "unknown_country"),
    (",".join(["FR"] * 2 + [f"{a}{b}" for a in "ABCDEFGH" for b in "ABCDEFGH"]), "too_many_countries"),
])
def test_bad_country_lists_are_refused(text, code):
    assert code_of(parse_zone_text, "countries", text) == code


def test_unknown_zone_text_kind_is_refused():
    assert code_of(parse_zone_text, "shape", "x") == "zone_kind"


# --------------------------------------------------------------------------- the command line


def test_zone_argument_forms(tmp_path):
    assert parse_zone_argument("countries:FR,BE").touched_countries() == {"FR", "BE"}
    assert inside(parse_zone_argument("wkt:POLYGON((2 48, 3 48, 3 49, 2 49, 2 48))"), PARIS) == [True]
    assert inside(parse_zone_argument('cap:"48,2 48,3 49,3 49,2 48,2"'), PARIS) == [True]
    corridor = parse_zone_argument("corridor:50:48.85,2.35 45.76,4.84")
    assert corridor.kind == "corridor" and inside(corridor, PARIS, LYON) == [True, True]
    path = tmp_path / "zone.kml"
    path.write_bytes(paris_box_kml())
    assert inside(parse_zone_argument(str(path)), (2.1, 48.7)) == [True]


def test_zone_argument_help_lists_every_form():
    with pytest.raises(GeoError) as info:
        parse_zone_argument("  ")
    for form in ("circle:", "countries:", "wkt:", "cap:", "corridor:", "KML", "GeoPackage"):
        assert form in str(info.value)
