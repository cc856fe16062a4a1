"""Build the compact country layer that `geo.countries` ships with.

Run once at build time (the output is committed); the application never reads the
Natural Earth source at run time:

    .venv/bin/python tools/build_countries.py [SOURCE.zip] [OUTPUT.geojson.gz]

Why a script instead of a hand-made file: the layer must be reproducible. It reads Natural
Earth's 1:10m admin-0 countries, keeps one feature per ISO 3166-1 alpha-2 code (features that
share a code, such as France and Clipperton, are merged), simplifies the outlines so the whole
world fits in well under 2 MB, and makes sure small island states (Singapore, Tuvalu, Nauru,
the Maldives...) never vanish in the process. Natural Earth already splits countries at the
antimeridian (Fiji, Russia, Kiribati...); simplification only removes vertices, so those
pieces stay on their own side of ±180.

Territories with their own ISO code that Natural Earth folds into a parent (Réunion,
Guadeloupe, Martinique, French Guiana and Mayotte inside France; Svalbard and Bouvet inside
Norway; the Caribbean Netherlands; Christmas and Cocos Islands inside Australia; Tokelau
inside New Zealand) are carved out into features of their own (`TERRITORIES`): the gazetteer
and travellers name them by their own code, so "Saint-Denis, RE" must be a different place
from "Saint-Denis, FR", and a zone over Réunion must reach the country-only stops registered
as RE. The parent keeps only what remains (France = metropolitan France, Corsica and
Clipperton); each carved feature carries `parent` so a caller can still ask "France and its
overseas parts" (`geo.countries.country_geometry(code, with_territories=True)`).
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("/work/shared/data/naturalearth/ne_10m_admin_0_countries_deu.zip")
DEFAULT_OUTPUT = ROOT / "geo" / "data" / "countries.geojson.gz"

TOLERANCE = 0.01  # degrees (~1 km): fine for "is this zone touching that country"
GRID = 1e-5  # coordinates snapped to ~1 m, which also keeps the JSON short
FALLBACK_TOLERANCES = (0.003, 0.001, 0.0003, 0.0)
MIN_AREA_RATIO = 0.5  # a simplification that loses more than half the land is refused

# Natural Earth's English names are sometimes the formal ones; a person picks from a list.
NAME_OVERRIDES = {
    "CN": ("China", "Chine"),
    "SX": ("Sint Maarten", "Saint-Martin (partie néerlandaise)"),
}

# code: (parent, English name, French name, continent, boxes (min lon, min lat, max lon, max lat)).
# A polygon part of the parent whose representative point lies in one of the boxes moves to
# the territory. The boxes are generous around each island group but far from the parent.
TERRITORIES = {
    "RE": ("FR", "Réunion", "La Réunion", "Africa", [(54.9, -21.6, 56.0, -20.6)]),
    "YT": ("FR", "Mayotte", "Mayotte", "Africa", [(44.8, -13.2, 45.5, -12.4)]),
    "MQ": ("FR", "Martinique", "Martinique", "North America", [(-61.4, 14.2, -60.6, 15.0)]),
    "GP": ("FR", "Guadeloupe", "Guadeloupe", "North America", [(-61.95, 15.75, -60.85, 16.6)]),
    "GF": ("FR", "French Guiana", "Guyane", "South America", [(-54.7, 1.9, -51.0, 6.2)]),
    "SJ": ("NO", "Svalbard and Jan Mayen", "Svalbard et Jan Mayen", "Europe",
           [(-10.0, 70.5, -7.0, 71.5), (0.0, 73.5, 40.0, 81.5)]),
    "BV": ("NO", "Bouvet Island", "Île Bouvet", "Antarctica", [(3.0, -54.7, 3.7, -54.2)]),
    "BQ": ("NL", "Caribbean Netherlands", "Pays-Bas caribéens", "North America",
           [(-68.5, 11.9, -68.0, 12.4), (-63.4, 17.4, -62.8, 17.8)]),
    "CX": ("AU", "Christmas Island", "Île Christmas", "Asia", [(105.4, -10.7, 105.9, -10.2)]),
    "CC": ("AU", "Cocos (Keeling) Islands", "Îles Cocos", "Asia", [(96.6, -12.4, 97.1, -11.7)]),
    "TK": ("NZ", "Tokelau", "Tokelau", "Oceania", [(-172.7, -9.6, -171.0, -8.3)]),
}
# Natural Earth files some island states under "Seven seas (open ocean)"; give them a continent.
CONTINENT_BY_CODE = {
    "MU": "Africa", "SC": "Africa", "SH": "Africa", "MV": "Asia", "IO": "Asia",
    "GS": "Antarctica", "HM": "Antarctica", "TF": "Antarctica",
}


def polygonal(geom) -> MultiPolygon:
    """Only the polygonal parts of a geometry, as a MultiPolygon (possibly empty)."""
    if geom is None or geom.is_empty:
        return MultiPolygon()
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts = []
    for part in getattr(geom, "geoms", []):
        pg = polygonal(part)
        parts.extend(pg.geoms)
    return MultiPolygon(parts)


def simplify_country(geom) -> MultiPolygon:
    """Simplify, snap to the grid and validate; back off until nothing is lost."""
    original = polygonal(shapely.make_valid(geom))
    for tol in (TOLERANCE, *FALLBACK_TOLERANCES):
        candidate = shapely.simplify(original, tol, preserve_topology=True) if tol else original
        candidate = shapely.set_precision(candidate, GRID)
        candidate = polygonal(shapely.make_valid(candidate))
        if candidate.is_empty:
            continue
        # every part must survive, and the land area must stay about the same
        if len(candidate.geoms) < len(original.geoms) * 0.9 and tol:
            continue
        if original.area and candidate.area < original.area * MIN_AREA_RATIO:
            continue
        return candidate
    return original


def carve_territories(by_geometry: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Move each territory's polygon parts out of its parent into a feature of its own."""
    out = dict(by_geometry)
    for code, (parent, _en, _fr, _continent, boxes) in TERRITORIES.items():
        if code in out or parent not in out:
            continue
        areas = [box(*b) for b in boxes]
        kept, moved = [], []
        for part in polygonal(out[parent]).geoms:
            point = part.representative_point()
            (moved if any(a.contains(point) for a in areas) else kept).append(part)
        if not moved:
            print(f"warning: no part of {parent} lies where {code} is; not carved", file=sys.stderr)
            continue
        out[parent] = MultiPolygon(kept)
        out[code] = MultiPolygon(moved)
    return out


def build(source: Path, output: Path) -> dict:
    frame = gpd.read_file(source, encoding="utf-8")
    frame = frame.to_crs(4326)
    by_code: dict[str, list] = {}
    for row in frame.itertuples(index=False):
        code = str(row.ISO_A2_EH or "").strip().upper()
        if len(code) != 2 or not code.isalpha():
            continue  # -99: bases, disputed reefs... no usable code
        by_code.setdefault(code, []).append(row)

    merged = {code: polygonal(shapely.make_valid(shapely.union_all([r.geometry for r in rows])))
              for code, rows in by_code.items()}
    merged = carve_territories(merged)

    features = []
    total_coords = 0
    for code in sorted(merged):
        geom = simplify_country(merged[code])
        if geom.is_empty:
            print(f"warning: {code} has no usable shape, skipped", file=sys.stderr)
            continue
        properties = {"code": code}
        if code in by_code:
            rows = by_code[code]
            main = max(rows, key=lambda r: (float(r.POP_EST or 0), r.geometry.area))
            name_en, name_fr = NAME_OVERRIDES.get(code, (main.NAME_EN, main.NAME_FR))
            continent = CONTINENT_BY_CODE.get(code, main.CONTINENT)
        else:
            parent, name_en, name_fr, continent, _boxes = TERRITORIES[code]
            properties["parent"] = parent
        properties.update(name_en=str(name_en).strip(), name_fr=str(name_fr).strip(),
                          continent=continent)
        total_coords += shapely.get_num_coordinates(geom)
        features.append({
            "type": "Feature",
            "properties": properties,
            "geometry": _rounded(mapping(geom)),
        })
    collection = {"type": "FeatureCollection", "features": features}
    output.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with gzip.GzipFile(output, "wb", compresslevel=9, mtime=0) as fh:
        fh.write(payload)
    return {"features": len(features), "coordinates": total_coords, "bytes": output.stat().st_size}


def _rounded(geometry: dict) -> dict:
    def rnd(coords):
        if isinstance(coords[0], (int, float)):
            return [round(coords[0], 5), round(coords[1], 5)]
        return [rnd(c) for c in coords]

    return {"type": geometry["type"], "coordinates": rnd(geometry["coordinates"])}


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    output = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUTPUT
    stats = build(source, output)
    print(f"wrote {output}: {stats['features']} countries, "
          f"{stats['coordinates']} coordinates, {stats['bytes']} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
