"""Territories with their own ISO code are their own shapes, not hidden inside a parent."""
from __future__ import annotations

import pytest
import shapely

from geo import countries, gazetteer
from geo.formats import countries_zone
from geo.zones import circle

REUNION_SAINT_DENIS = (-20.88, 55.45)  # lat, lon


@pytest.mark.parametrize("code, name_fr", [
    ("RE", "La Réunion"), ("GP", "Guadeloupe"), ("MQ", "Martinique"), ("GF", "Guyane"),
    ("YT", "Mayotte"), ("SJ", "Svalbard et Jan Mayen"), ("BQ", "Pays-Bas caribéens"),
    ("CX", "Île Christmas"), ("CC", "Îles Cocos"),
])
def test_carved_territories_are_countries_with_french_names(code, name_fr):
    assert countries.is_country(code)
    assert countries.country_name(code, "fr") == name_fr
    assert not countries.country_geometry(code).is_empty


@pytest.mark.parametrize("code", [
    "PM", "BL", "MF", "WF", "PF", "NC", "CW", "AW", "SX", "AX", "GG", "JE", "IM", "HK", "MO",
    "PR", "GU", "AS", "VI", "MP", "TC", "KY", "BM", "GI", "FK", "GL", "TV", "NR", "SG", "MV",
])
def test_small_territories_and_islands_survive_simplification(code):
    assert countries.is_country(code)
    assert countries.country_geometry(code).area > 0


def test_every_gazetteer_city_lies_in_its_own_country_shape():
    table = gazetteer.cities_table()
    missing = []
    for code in ("RE", "GP", "MQ", "GF", "YT", "BQ", "SJ", "CX", "CC"):
        geom = countries.country_geometry(code)
        for lat, lon, c in zip(table.lats, table.lons, table.countries):
            if c == code and not shapely.dwithin(geom, shapely.Point(lon, lat), 0.05):
                missing.append((code, lat, lon))
    assert missing == []


def test_france_no_longer_contains_reunion_but_can_be_asked_with_its_territories():
    point = shapely.Point(REUNION_SAINT_DENIS[1], REUNION_SAINT_DENIS[0])
    assert not countries.country_geometry("FR").intersects(point)
    assert countries.country_geometry("FR", with_territories=True).intersects(point)
    assert countries.territories_of("FR") == ["GF", "GP", "MQ", "RE", "YT"]
    assert countries.get_country("RE").parent == "FR"


def test_saint_denis_in_reunion_and_in_france_are_different_places():
    reunion = gazetteer.resolve_place("RE", "Saint-Denis")
    france = gazetteer.resolve_place("FR", "Saint-Denis")
    assert reunion is not None and france is not None
    assert reunion.lat < -20 and france.lat > 48


def test_a_zone_over_reunion_reaches_reunion_not_mainland_france():
    zone = circle(*REUNION_SAINT_DENIS, 50)
    assert zone.touched_countries() == {"RE"}


def test_a_zone_named_france_is_metropolitan_france():
    zone = countries_zone(["FR"])
    assert zone.contains(2.35, 48.85).tolist() == [True]
    assert zone.contains(REUNION_SAINT_DENIS[1], REUNION_SAINT_DENIS[0]).tolist() == [False]
