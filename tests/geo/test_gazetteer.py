"""The offline gazetteer: names to places within a country, accents and case ignored."""
import numpy as np
import pytest

from geo.gazetteer import Place, cities_table, normalise_name, resolve_place, suggest


@pytest.mark.parametrize("name", ["Montreal", "Montréal", "montreal", "  MONTRÉAL "])
def test_montreal_whatever_the_spelling(name):
    place = resolve_place("CA", name)
    assert place is not None
    assert place.name == "Montréal" and place.country == "CA"
    assert place.lat == pytest.approx(45.5, abs=0.1) and place.lon == pytest.approx(-73.6, abs=0.1)


def test_same_name_in_two_countries_is_resolved_within_the_country():
    france = resolve_place("FR", "Saint-Denis")
    reunion = resolve_place("re", "saint denis")
    assert france.country == "FR" and france.lat > 40
    assert reunion.country == "RE" and reunion.lat < -20


def test_alternate_names_match():
    assert resolve_place("DE", "München").name == "Munich"
    assert resolve_place("US", "New York").name == "New York City"


def test_largest_population_wins():
    place = resolve_place("US", "Springfield")
    others = [p for p in suggest("US", "Springfield", limit=50) if p.name == "Springfield"]
    assert len(others) > 1
    assert place.population == max(p.population for p in others)


@pytest.mark.parametrize("country, name", [("CA", "Paris"), ("FR", ""), ("", "Paris"), ("XX", "Paris"),
                                           ("FR", "Atlantis")])
def test_unknown_places_resolve_to_none(country, name):
    assert resolve_place(country, name) is None


def test_suggest_by_prefix_most_populous_first():
    places = suggest("CA", "mont", limit=3)
    assert places[0].name == "Montréal"
    assert len(places) == 3
    assert [p.population for p in places] == sorted((p.population for p in places), reverse=True)
    assert all(isinstance(p, Place) for p in places)


def test_suggest_empty_prefix_or_limit_gives_nothing():
    assert suggest("CA", "") == []
    assert suggest("CA", "mont", limit=0) == []


def test_normalise_name_ignores_case_accents_and_punctuation():
    assert normalise_name("Saint-Étienne") == normalise_name("saint etienne") == "saint etienne"


def test_cities_table_is_aligned_numpy_columns():
    table = cities_table()
    n = len(table.names)
    assert n > 10_000
    assert {len(col) for col in table} == {n}
    assert table.lats.dtype == np.float64 and table.populations.dtype == np.int64
    assert np.all(np.abs(table.lats) <= 90) and np.all(np.abs(table.lons) <= 180)
    i = int(np.argmax(table.populations))
    assert table.populations[i] > 5_000_000
    weights = table.populations / table.populations.sum()
    assert weights.sum() == pytest.approx(1)
