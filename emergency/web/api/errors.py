"""The one error shape of every /api/v1 blueprint: `{"error": code, "message": text}` with
the message in the caller's language (Accept-Language), plus `fields` where a field is to
blame. Views return `error_response(...)` or raise through `abort(error_response(...))`;
`register_error_handlers` gives each API blueprint the same answers for 400, 404, 405 and 413.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _


def error_response(status: int, code: str, message: str, **extra):
    """A JSON error: a stable machine `code`, a translated `message` and any extra fields."""
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


def json_body() -> dict:
    """The request's JSON object, or a 400 `invalid_json` answer."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(error_response(400, "invalid_json", _("The request body must be a JSON object.")))
    return data


def register_error_handlers(bp: Blueprint) -> None:
    """The errors Flask raises inside a view (abort, oversized bodies) in the API's shape."""

    @bp.errorhandler(400)
    def _bad_request(_e):
        return error_response(400, "bad_request", _("The request is not valid."))

    @bp.errorhandler(404)
    def _not_found(_e):
        return error_response(404, "not_found", _("Not found."))

    @bp.errorhandler(405)
    def _not_allowed(_e):
        return error_response(405, "method_not_allowed", _("This method is not allowed here."))

    @bp.errorhandler(413)
    def _too_large(_e):
        return error_response(413, "too_large", _("The request is too large."))
