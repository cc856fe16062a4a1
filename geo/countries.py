"""The shipped country layer: ISO 3166-1 alpha-2 codes, English and French names, shapes.

A traveller may only say "I will be in Peru"; such a stop is affected when an incident zone
touches Peru, so the layer carries shapes as well as names. It is loaded once, on first use,
from `geo/data/countries.geojson.gz` (built by `tools/build_countries.py`), never from the
network or a shared folder.
"""
from __future__ import annotations

import gzip
import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

DATA_FILE = Path(__file__).resolve().parent / "data" / "countries.geojson.gz"
LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class Country:
    code: str
    name_en: str
    name_fr: str
    continent: str | None
    geometry: BaseGeometry
    parent: str | None = None  # for a territory carved out of its parent (RE -> FR)

    def name(self, lang: str = "en") -> str:
        return self.name_fr if lang == "fr" else self.name_en


@dataclass(frozen=True)
class _Layer:
    by_code: dict[str, Country]
    codes: tuple[str, ...]  # aligned with the tree's geometries
    tree: STRtree


@lru_cache(maxsize=1)
def _layer() -> _Layer:
    with gzip.open(DATA_FILE, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    by_code: dict[str, Country] = {}
    for feature in data["features"]:
        props = feature["properties"]
        geom = shape(feature["geometry"])
        shapely.prepare(geom)
        by_code[props["code"]] = Country(
            code=props["code"], name_en=props["name_en"], name_fr=props["name_fr"],
            continent=props.get("continent"), geometry=geom, parent=props.get("parent"),
        )
    codes = tuple(by_code)
    tree = STRtree([by_code[c].geometry for c in codes])
    return _Layer(by_code=by_code, codes=codes, tree=tree)


def sort_key(text: str) -> str:
    """Accent- and case-insensitive key, so "Égypte" sorts with the E's."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _normalise_code(code: str | None) -> str:
    return (code or "").strip().upper()


def is_country(code: str | None) -> bool:
    """True for a known ISO 3166-1 alpha-2 code (case-insensitive)."""
    return _normalise_code(code) in _layer().by_code


def get_country(code: str) -> Country | None:
    return _layer().by_code.get(_normalise_code(code))


def country_name(code: str, lang: str = "en") -> str | None:
    """The country's name in English or French; None for an unknown code."""
    country = get_country(code)
    return country.name(lang) if country else None


def all_countries(lang: str = "en") -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name as a reader of that language expects."""
    return _all_countries(lang if lang in LANGUAGES else "en")


@lru_cache(maxsize=len(LANGUAGES))
def _all_countries(lang: str) -> list[tuple[str, str]]:
    pairs = [(c.code, c.name(lang)) for c in _layer().by_code.values()]
    return sorted(pairs, key=lambda pair: (sort_key(pair[1]), pair[0]))


def country_geometry(code: str, with_territories: bool = False) -> BaseGeometry | None:
    """The (simplified, valid, antimeridian-split) shape of a country in lon/lat.

    Territories with their own code (Réunion, French Guiana...) are separate countries in
    this layer, so France's shape is metropolitan France; `with_territories=True` adds them
    back, e.g. to accept a map point in Réunion for a stop registered as "France".
    """
    country = get_country(code)
    if country is None:
        return None
    if not with_territories:
        return country.geometry
    extra = [get_country(t).geometry for t in territories_of(country.code)]
    return shapely.union_all([country.geometry, *extra]) if extra else country.geometry


def territories_of(code: str) -> list[str]:
    """Codes of the territories carved out of this country (FR -> GF, GP, MQ, RE, YT)."""
    code = _normalise_code(code)
    return sorted(c.code for c in _layer().by_code.values() if c.parent == code)


def countries_intersecting(geometry: BaseGeometry) -> set[str]:
    """Codes of the countries the geometry touches (boundary contact counts)."""
    if geometry is None or geometry.is_empty:
        return set()
    layer = _layer()
    hits = layer.tree.query(geometry, predicate="intersects")
    return {layer.codes[i] for i in hits}


@lru_cache(maxsize=None)
def country_centre(code: str) -> tuple[float, float] | None:
    """A point inside the country's main landmass, as (lat, lon), for a map marker.

    The largest part is used so that France's centre is in France, not in the Atlantic
    between Paris and its overseas territories.
    """
    country = get_country(code)
    if country is None:
        return None
    geom = country.geometry
    parts = list(getattr(geom, "geoms", [geom]))
    main = max(parts, key=lambda p: p.area)
    centroid = main.centroid
    point = centroid if main.contains(centroid) else main.representative_point()
    return (point.y, point.x)
