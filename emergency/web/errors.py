"""The pages a browser meets when something is refused, missing or broken (403, 404, 405,
500): in the house layout, in the reader's language with the other language below, so a
French reader is never dropped on Flask's bare English page. A console visitor gets the
console's layout (navigation, language switch); everyone else the travellers' light layout.
Paths under /api/v1 keep the API's JSON shape."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from emergency.core.database import db_session
from emergency.core.i18n import current_language, other_language
from emergency.web.api import errors as api_errors

PUBLIC_BLUEPRINTS = {"public", "registration", "selfservice", "checkin", "checkin_verify"}
PUBLIC_PREFIXES = ("/register", "/my", "/r/", "/checkin/", "/now", "/places")


def error_texts(status: int, lang: str) -> dict[str, str]:
    """Title and explanation of an HTTP error in one language."""
    with force_locale(lang):
        texts = {
            403: (_("Not allowed"), _("Your account cannot open this page or do this action.")),
            404: (_("Page not found"), _("There is no page at this address. Check the link, or start again from the home page.")),
            405: (_("Not possible here"), _("This address does not accept this kind of request. Go back and use the page's buttons.")),
            500: (_("Something went wrong"), _("The server could not finish your request. Please try again in a moment; "
                                               "if it keeps happening, tell the duty officer.")),
        }
        title, body = texts.get(status, texts[500])
        return {"lang": lang, "title": title, "body": body, "home": _("Back to the home page")}


def is_public_request() -> bool:
    if request.blueprint in PUBLIC_BLUEPRINTS:
        return True
    if request.endpoint is None and request.path.startswith(PUBLIC_PREFIXES):
        return True
    return not getattr(current_user, "is_authenticated", False) and request.path.startswith(PUBLIC_PREFIXES)


def render_error(error: HTTPException):
    if api_errors.is_api_path(request.path):
        return api_errors.http_error_response(error)
    status = error.code or 500
    first = current_language()
    sections = [error_texts(status, first), error_texts(status, other_language(first))]
    layout = "public" if is_public_request() else "console"
    response = render_template("error.html", status=status, sections=sections, layout=layout)
    headers = {}
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    return response, status, headers


def register(app: Flask) -> None:
    for status in (403, 404, 405):
        app.register_error_handler(status, render_error)

    @app.errorhandler(InternalServerError)
    def _server_error(error):
        # The failed request may have left its transaction aborted (PostgreSQL refuses every
        # later statement): roll it back so the page's layout can still read what it shows.
        try:
            db_session().rollback()
        except Exception:  # noqa: BLE001 - the page must render even if the database is gone
            pass
        return render_error(error)
