"""The shipped country layer: codes, bilingual names, shapes that keep small islands."""
from pathlib import Path

import pytest
from shapely.geometry import Point, box

import geo
from geo import countries
from geo.countries import (
    all_countries,
    countries_intersecting,
    country_centre,
    country_geometry,
    country_name,
    is_country,
)


def test_layer_ships_inside_the_package():
    assert countries.DATA_FILE.is_file()
    assert Path(geo.__file__).parent in countries.DATA_FILE.parents
    assert countries.DATA_FILE.stat().st_size < 2_500_000


@pytest.mark.parametrize("code", ["FR", "fr", " Ca ", "NO", "XK"])
def test_known_codes_are_countries_whatever_the_case(code):
    assert is_country(code)


@pytest.mark.parametrize("code", ["XX", "", None, "-99", "FRA", "Canada"])
def test_unknown_codes_are_not_countries(code):
    assert not is_country(code)


def test_names_in_english_and_french():
    assert country_name("DE", "en") == "Germany"
    assert country_name("DE", "fr") == "Allemagne"
    assert country_name("CN", "en") == "China"
    assert country_name("XX", "en") is None


def test_all_countries_sorted_without_regard_to_accents():
    names = [name for _, name in all_countries("fr")]
    assert "Égypte" in names
    egypt = names.index("Égypte")
    assert names[egypt - 1][0] in "DEÉ" and names[egypt + 1][0] in "EÉF"
    assert names == sorted(names, key=countries.sort_key)


def test_all_countries_unknown_language_falls_back_to_english():
    assert all_countries("de") == all_countries("en")
    assert ("FR", "France") in all_countries("en")


@pytest.mark.parametrize("code", ["SG", "BH", "MT", "TV", "NR", "MV", "KI", "VA", "MC", "LI"])
def test_small_states_keep_a_shape(code):
    geom = country_geometry(code)
    assert geom is not None and not geom.is_empty and geom.is_valid


@pytest.mark.parametrize("code", ["FJ", "RU", "KI", "NZ", "US"])
def test_antimeridian_countries_stay_within_180(code):
    minx, _, maxx, _ = country_geometry(code).bounds
    assert -180 <= minx and maxx <= 180


def test_fiji_keeps_both_sides_of_the_antimeridian():
    fiji = country_geometry("FJ")
    assert fiji.distance(Point(178.44, -18.14)) < 0.05  # Suva
    assert fiji.distance(Point(-178.8, -17.8)) < 0.3  # Lau islands


def test_countries_intersecting_finds_neighbours_of_a_border_zone():
    around_geneva = box(5.9, 46.0, 6.4, 46.4)
    assert {"CH", "FR"} <= countries_intersecting(around_geneva)
    assert "DE" not in countries_intersecting(around_geneva)


def test_countries_intersecting_open_ocean_is_empty():
    assert countries_intersecting(box(-30, -30, -29, -29)) == set()


def test_country_centre_is_in_the_main_landmass():
    lat, lon = country_centre("FR")
    assert 42 < lat < 51 and -5 < lon < 8
    assert country_geometry("CA").contains(Point(country_centre("CA")[::-1]))
    assert country_centre("XX") is None
