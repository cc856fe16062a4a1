"""The one error shape of every /api/v1 blueprint: `{"error": code, "message": text}` with
the message in the caller's language (Accept-Language), plus `fields` where a field is to
blame. Views return `error_response(...)` or raise through `abort(error_response(...))`;
the bearer-token checks (`core.auth.api_role_required`) abort with 401 or 403.

`register_error_handlers` gives each API blueprint the same answers for the HTTP errors a
view can raise. A URL no route matches, or a method no route takes, fails before any
blueprint is chosen: `emergency.web.errors` answers those in the same shape when the path
is under /api/v1 and with the house error pages elsewhere.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/v1"

# status: (stable code, message). Lazy, so each answer is in the language of its request.
HTTP_ERRORS = {
    400: ("bad_request", _l("The request is not valid.")),
    401: ("unauthorized", _l("A valid bearer token is required.")),
    403: ("forbidden", _l("Your role does not allow this.")),
    404: ("not_found", _l("Not found.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    413: ("too_large", _l("The request is too large.")),
    500: ("internal_error", _l("Something went wrong on our side. Please try again later.")),
}


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


def http_error_response(error: HTTPException):
    """An HTTP error Flask or a view raised (abort(404), an oversized body, a refused token),
    in the API's shape, with the headers that status calls for."""
    code, message = HTTP_ERRORS[error.code]
    response = error_response(error.code, code, str(message))
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    allowed = getattr(error, "valid_methods", None)
    if error.code == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def register_error_handlers(bp: Blueprint) -> None:
    """The errors raised inside this blueprint's views, in the API's shape."""
    for status in HTTP_ERRORS:
        bp.register_error_handler(status, http_error_response)


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")
