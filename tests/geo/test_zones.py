"""Incident zones: every way a zone can be wrong, repairs, the antimeridian, geodesic circles."""
from __future__ import annotations

import json

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point

from geo.errors import GeoError
from geo.sources import parse_zone_argument, zone_from_stored
from geo.zones import MAX_VERTICES, circle, parse_geojson

GEOD = Geod(ellps="WGS84")

SUVA = (178.44, -18.14)  # lon, lat
EAST_OF_180 = (-179.9, -16.5)
SYDNEY = (151.21, -33.87)
OTTAWA = (45.4215, -75.6972)  # lat, lon
MONTREAL = (-73.5673, 45.5017)  # lon, lat
TORONTO = (-79.3832, 43.6532)


def square(x0=0, y0=0, x1=1, y1=1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def contains(zone, *points):
    lons, lats = zip(*points)
    return zone.contains(np.array(lons), np.array(lats)).tolist()


def error_code(data) -> str:
    with pytest.raises(GeoError) as info:
        parse_geojson(data)
    assert str(info.value)  # a readable English message
    return info.value.code


# --------------------------------------------------------------------------- accepted forms


def test_polygon_is_accepted_and_normalised_to_multipolygon():
    zone = parse_geojson(square())
    assert isinstance(zone.geometry, MultiPolygon)
    assert zone.to_geojson()["type"] == "MultiPolygon"
    assert not zone.repaired and zone.note is None
    assert contains(zone, (0.5, 0.5), (2, 2)) == [True, False]


def test_string_and_bytes_input_are_parsed():
    assert parse_geojson(json.dumps(square())).geometry.area == pytest.approx(1)
    assert parse_geojson(json.dumps(square()).encode()).geometry.area == pytest.approx(1)


def test_feature_and_feature_collection_union_their_polygons():
    feature = {"type": "Feature", "properties": {}, "geometry": square(0, 0, 1, 1)}
    collection = {"type": "FeatureCollection", "features": [
        feature,
        {"type": "Feature", "properties": {}, "geometry": square(0.5, 0, 2, 1)},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [9, 9]}},
    ]}
    assert parse_geojson(feature).geometry.area == pytest.approx(1)
    assert parse_geojson(collection).geometry.area == pytest.approx(2)


def test_multipolygon_and_holes_are_respected():
    donut = {"type": "Polygon", "coordinates": [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
    ]}
    zone = parse_geojson(donut)
    assert contains(zone, (1, 1), (5, 5)) == [True, False]


def test_wgs84_crs_member_is_accepted():
    data = dict(square(), crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    assert parse_geojson(data).geometry.area == pytest.approx(1)


def test_third_coordinate_altitude_is_ignored():
    data = {"type": "Polygon", "coordinates": [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 1, 5], [0, 0, 5]]]}
    assert parse_geojson(data).geometry.area == pytest.approx(1)


# --------------------------------------------------------------------------- refused input


@pytest.mark.parametrize("data, code", [
    ("{not json", "not_json"),
    (b"\xff\xfe\x00garbage", "not_json"),
    ("[1, 2, 3]", "not_geojson"),
    ({"coordinates": []}, "not_geojson"),
    ({"type": "Point", "coordinates": [1, 2]}, "unsupported_geometry"),
    ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "unsupported_geometry"),
    ({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}]}, "unsupported_geometry"),
    ({"type": "Circle", "coordinates": [1, 2]}, "unknown_type"),
    ({"type": "Polygon", "coordinates": []}, "empty"),
    ({"type": "MultiPolygon", "coordinates": []}, "empty"),
    ({"type": "Feature", "geometry": None}, "empty"),
    ({"type": "FeatureCollection", "features": []}, "empty"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "too_few_positions"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "unclosed_ring"),
    ({"type": "Polygon", "coordinates": [[["0", 0], [1, 0], [1, 1], ["0", 0]]]}, "bad_coordinates"),
    ({"type": "Polygon", "coordinates": [[[0, None], [1, 0], [1, 1], [0, None]]]}, "bad_coordinates"),
    ({"type": "Polygon", "coordinates": [[[0], [1, 0], [1, 1], [0]]]}, "bad_coordinates"),
    ({"type": "Polygon", "coordinates": [[[True, 0], [1, 0], [1, 1], [True, 0]]]}, "bad_coordinates"),
    ({"type": "Polygon", "coordinates": "0 0 1 1"}, "bad_coordinates"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 95], [1, 1], [0, 0]]]}, "latitude_out_of_range"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}, "empty"),
])
def test_bad_zones_are_refused_with_a_specific_code(data, code):
    assert error_code(data) == code


def test_nan_coordinates_are_refused():
    text = '{"type":"Polygon","coordinates":[[[0,0],[1,NaN],[1,1],[0,0]]]}'
    assert error_code(text) == "bad_coordinates"


def test_swapped_latitude_message_hints_at_axis_order():
    with pytest.raises(GeoError) as info:
        parse_geojson(square(45, 100, 46, 101))
    assert info.value.params["lat"] in (100, 101)
    assert "[longitude, latitude]" in str(info.value)


def test_too_many_vertices_are_refused():
    n = MAX_VERTICES + 10
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = [[float(np.cos(a)), float(np.sin(a))] for a in angles]
    ring.append(ring[0])
    assert error_code({"type": "Polygon", "coordinates": [ring]}) == "too_many_vertices"


def test_projected_crs_is_reprojected_to_wgs84_and_the_note_says_so():
    # Paris, roughly, as a 20 km square in Web Mercator metres
    x, y = 261_600.0, 6_250_500.0
    data = dict(square(x - 10_000, y - 10_000, x + 10_000, y + 10_000),
                crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}})
    zone = parse_geojson(data)
    assert contains(zone, (2.35, 48.85), (0.0, 0.0)) == [True, False]
    assert zone.note and "converted" in zone.note
    assert zone.source()["crs"] == "urn:ogc:def:crs:EPSG::3857"


def test_old_style_epsg_code_crs_is_understood():
    data = dict(square(500_000, 5_000_000, 510_000, 5_010_000),
                crs={"type": "EPSG", "properties": {"code": 32631}})  # UTM 31N
    zone = parse_geojson(data)
    lon, lat = zone.geometry.centroid.x, zone.geometry.centroid.y
    assert 2.9 < lon < 3.2 and 45.1 < lat < 45.3


@pytest.mark.parametrize("crs", [
    {"type": "name", "properties": {"name": "EPSG:999999"}},
    {"type": "name", "properties": {"name": "my local grid"}},
    {"type": "link", "properties": {"href": "http://example.org/crs", "type": "proj4"}},
    "EPSG:3857",
])
def test_unknown_crs_is_refused_never_guessed(crs):
    with pytest.raises(GeoError) as info:
        parse_geojson(dict(square(), crs=crs))
    assert info.value.code == "unsupported_crs"


def test_wgs84_crs_names_are_accepted_without_a_note():
    for name in ("urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"):
        zone = parse_geojson(dict(square(), crs={"type": "name", "properties": {"name": name}}))
        assert zone.note is None


def test_projected_coordinates_outside_the_crs_area_are_refused():
    data = dict(square(1e12, 1e12, 2e12, 2e12), crs={"type": "name", "properties": {"name": "EPSG:3857"}})
    with pytest.raises(GeoError) as info:
        parse_geojson(data)
    assert info.value.code in ("reprojection_failed", "latitude_out_of_range")


# --------------------------------------------------------------------------- repair


def test_self_crossing_outline_is_repaired_with_a_note():
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]]}
    zone = parse_geojson(bow_tie)
    assert zone.repaired
    assert "crossed itself" in zone.note
    assert zone.geometry.is_valid
    assert contains(zone, (1, 5), (9, 5), (5, 1)) == [True, True, False]
    assert zone.source()["repaired"] is True


def test_valid_zone_has_no_note():
    zone = parse_geojson(square())
    assert zone.note is None and zone.source() == {
        "kind": "polygon", "format": "geojson", "vertices": 5, "repaired": False,
        "note": None, "notes": []}


# --------------------------------------------------------------------------- antimeridian


FIJI_FORMS = {
    "split": {"type": "MultiPolygon", "coordinates": [
        [[[177, -20], [180, -20], [180, -15], [177, -15], [177, -20]]],
        [[[-180, -20], [-177, -20], [-177, -15], [-180, -15], [-180, -20]]],
    ]},
    "beyond_180": square(177, -20, 183, -15),
    "jump": {"type": "Polygon", "coordinates": [
        [[177, -20], [-177, -20], [-177, -15], [177, -15], [177, -20]]]},
    "beyond_minus_180": square(-183, -20, -177, -15),
}


@pytest.mark.parametrize("form", sorted(FIJI_FORMS))
def test_zone_around_fiji_includes_both_sides_of_the_antimeridian(form):
    zone = parse_geojson(FIJI_FORMS[form])
    assert contains(zone, SUVA, EAST_OF_180, SYDNEY) == [True, True, False]
    minx, _, maxx, _ = zone.bounds
    assert minx == -180 and maxx == 180
    assert zone.geometry.area == pytest.approx(30)


def test_antimeridian_zone_is_not_the_rest_of_the_world():
    zone = parse_geojson(FIJI_FORMS["jump"])
    assert contains(zone, (0, -17), (100, -17)) == [False, False]


def test_antimeridian_zone_centre_is_near_180():
    lat, lon = parse_geojson(FIJI_FORMS["split"]).centre()
    assert lat == pytest.approx(-17.5)
    assert abs(lon) == pytest.approx(180, abs=0.5)


def test_points_on_the_antimeridian_itself_are_inside_either_way():
    zone = parse_geojson(FIJI_FORMS["beyond_180"])
    assert contains(zone, (180, -17), (-180, -17)) == [True, True]


def test_whole_zone_beyond_180_is_moved_back():
    zone = parse_geojson(square(190, 10, 191, 11))
    assert zone.bounds == pytest.approx((-170, 10, -169, 11))


def test_zone_wrapping_more_than_the_world_is_refused():
    east = [[0, 0], [120, 0], [240, 0], [360, 0], [400, 0]]
    west = [[400, 1], [280, 1], [160, 1], [40, 1], [0, 1]]
    ring = east + west + [[0, 0]]
    assert error_code({"type": "Polygon", "coordinates": [ring]}) == "wraps_world"


# --------------------------------------------------------------------------- circles


def test_circle_around_ottawa_includes_montreal_and_excludes_toronto():
    zone = circle(*OTTAWA, 300)
    assert contains(zone, MONTREAL, TORONTO) == [True, False]
    d = zone.distance_km(np.array([MONTREAL[0], TORONTO[0]]), np.array([MONTREAL[1], TORONTO[1]]))
    assert d[0] == pytest.approx(166, abs=3) and d[1] == pytest.approx(352, abs=5)


def test_circle_edge_is_inside_and_just_beyond_is_not():
    lat, lon = OTTAWA
    on_edge = GEOD.fwd(lon, lat, 37.0, 100_000.0)[:2]
    beyond = GEOD.fwd(lon, lat, 37.0, 100_010.0)[:2]
    assert contains(circle(lat, lon, 100), on_edge, beyond) == [True, False]


def test_high_latitude_circle_is_geodesic_not_degrees():
    # 150 km east of Longyearbyen is ~6.5 degrees of longitude: a 1.8-degree "circle" misses it
    lon, lat = GEOD.fwd(15.65, 78.22, 90.0, 150_000.0)[:2]
    zone = circle(78.22, 15.65, 200)
    assert lon - 15.65 > 5
    assert contains(zone, (lon, lat)) == [True]
    assert zone.geometry.intersects(Point(lon, lat))


def test_circle_polygon_has_many_vertices_and_is_valid():
    zone = circle(*OTTAWA, 50)
    assert len(zone.geometry.geoms[0].exterior.coords) >= 129
    assert zone.geometry.is_valid


def test_circle_across_antimeridian_is_split():
    zone = circle(-17.5, 179.9, 300)
    assert len(zone.geometry.geoms) == 2
    minx, _, maxx, _ = zone.bounds
    assert minx == -180 and maxx == 180
    assert contains(zone, SUVA, (-179.5, -17.0), SYDNEY) == [True, True, False]


def test_circle_around_a_pole_covers_the_polar_cap():
    zone = circle(85.0, 0.0, 1000)
    assert zone.geometry.is_valid
    assert zone.geometry.bounds[3] == 90
    assert zone.geometry.intersects(Point(180, 89.5))
    assert contains(zone, (180, 89.9), (0, 80), (0, 75)) == [True, True, False]


def test_circle_source_round_trips_through_storage():
    zone = circle(*OTTAWA, 300)
    stored = json.loads(json.dumps({"g": zone.to_geojson(), "s": zone.source()}))
    again = zone_from_stored(stored["g"], stored["s"])
    assert again.circle == zone.circle
    assert contains(again, MONTREAL, TORONTO) == [True, False]


def test_polygon_round_trips_through_storage_with_its_note():
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]]}
    zone = parse_geojson(bow_tie)
    stored = json.loads(json.dumps({"g": zone.to_geojson(), "s": zone.source()}))
    again = zone_from_stored(stored["g"], stored["s"])
    assert again.repaired and again.note == zone.note
    assert again.geometry.equals(zone.geometry)
    assert zone_from_stored(stored["g"], None).geometry.equals(zone.geometry)


@pytest.mark.parametrize("lat, lon, radius, code", [
    (91, 0, 10, "circle_latitude"),
    (-90.5, 0, 10, "circle_latitude"),
    (0, 181, 10, "circle_longitude"),
    (0, 0, 0, "circle_radius"),
    (0, 0, -5, "circle_radius"),
    (0, 0, 5001, "circle_radius"),
    ("north", 0, 10, "circle_latitude"),
    (0, float("nan"), 10, "circle_longitude"),
    (0, 0, float("inf"), "circle_radius"),
])
def test_bad_circles_are_refused(lat, lon, radius, code):
    with pytest.raises(GeoError) as info:
        circle(lat, lon, radius)
    assert info.value.code == code


def test_largest_allowed_circle_is_accepted():
    assert circle(0, 0, 5000).geometry.is_valid


def test_contains_ignores_missing_coordinates():
    zone = circle(*OTTAWA, 300)
    assert zone.contains(np.array([np.nan, MONTREAL[0]]), np.array([45.0, MONTREAL[1]])).tolist() == [False, True]


# --------------------------------------------------------------------------- command-line argument


def test_zone_argument_circle_syntax():
    zone = parse_zone_argument("circle:45.4215,-75.6972,300")
    assert zone.circle == (45.4215, -75.6972, 300.0)


@pytest.mark.parametrize("text", ["circle:45,-75", "circle:a,b,c", "circle:", "circle:1,2,3,4"])
def test_zone_argument_bad_circle_syntax(text):
    with pytest.raises(GeoError) as info:
        parse_zone_argument(text)
    assert info.value.code == "circle_syntax"


def test_zone_argument_circle_values_are_validated():
    with pytest.raises(GeoError) as info:
        parse_zone_argument("circle:45,-75,9000")
    assert info.value.code == "circle_radius"


def test_zone_argument_reads_a_geojson_file(tmp_path):
    path = tmp_path / "fiji.geojson"
    path.write_text(json.dumps(FIJI_FORMS["jump"]))
    zone = parse_zone_argument(str(path))
    assert contains(zone, SUVA) == [True]


def test_zone_argument_missing_file(tmp_path):
    with pytest.raises(GeoError) as info:
        parse_zone_argument(str(tmp_path / "nope.geojson"))
    assert info.value.code == "file_not_found"
    assert "nope.geojson" in str(info.value)


def test_zone_argument_directory_is_not_a_file(tmp_path):
    with pytest.raises(GeoError) as info:
        parse_zone_argument(str(tmp_path))
    assert info.value.code == "file_not_found"


def test_zone_argument_empty():
    with pytest.raises(GeoError) as info:
        parse_zone_argument("  ")
    assert info.value.code == "zone_missing"


def test_zone_argument_file_with_bad_json(tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text("{")
    with pytest.raises(GeoError) as info:
        parse_zone_argument(str(path))
    assert info.value.code == "not_json"
