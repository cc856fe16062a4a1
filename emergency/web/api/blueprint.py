"""The "api" blueprint under /api/v1: bearer tokens only (no cookies, so no CSRF), errors in
the one shape of `errors`. Route modules (`openapi`, `travellers`, `incidents`, `alerts`,
`cases`) add their views to it."""
from __future__ import annotations

from flask import Blueprint

from emergency.web.api.errors import register_error_handlers

bp = Blueprint("api", __name__, url_prefix="/api/v1")
register_error_handlers(bp)
