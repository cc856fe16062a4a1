"""The maps' base layer: country outlines served by the app, so maps work with no tile server."""
from __future__ import annotations

import gzip
import json
from functools import lru_cache

import numpy as np
import shapely
from flask import Response, request
from shapely.geometry import mapping

from emergency.web.console.blueprint import bp
from geo import countries

COUNTRY_TOLERANCE_DEG = 0.1  # ~10 km: enough for a base layer, ~600 kB instead of ~10 MB


@lru_cache(maxsize=1)
def _countries_payload() -> tuple[bytes, bytes]:
    """The country outlines, simplified and rounded, as (json, gzipped json); built once."""
    features = []
    for code, _name in countries.all_countries("en"):
        country = countries.get_country(code)
        geom = shapely.simplify(country.geometry, COUNTRY_TOLERANCE_DEG, preserve_topology=True)
        geom = shapely.transform(geom, lambda xy: np.round(xy, 2))
        features.append({"type": "Feature",
                         "properties": {"code": code, "name_en": country.name_en,
                                        "name_fr": country.name_fr},
                         "geometry": mapping(geom)})
    raw = json.dumps({"type": "FeatureCollection", "features": features},
                     separators=(",", ":")).encode()
    return raw, gzip.compress(raw, 6)


@bp.get("/countries.geojson")
def countries_geojson():
    """Country outlines as the map's base layer, so maps work with no tile server."""
    raw, packed = _countries_payload()
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(packed if gzipped else raw, mimetype="application/geo+json")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
