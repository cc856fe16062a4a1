"""The OpenAPI document of /api/v1, read once from openapi.yaml beside this module."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from flask import jsonify

from emergency.web.api.blueprint import bp

OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.yaml"


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    """The parsed document; the file ships with the code, so it is read once per process."""
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
