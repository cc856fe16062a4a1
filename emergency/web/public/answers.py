"""Traveller-facing safety-check pages: the one-click links from the email and the page
where an answer can be given or changed, with a message. No log-in: the signed link is
the credential, and it shows nothing about anyone else."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import force_locale

from emergency.core.database import db_session
from emergency.core.models import Incident
from emergency.services.responses import latest_response, record_response
from emergency.services.safety_links import LinkExpired, LinkInvalid, read_token
from registry.models import Traveller

bp = Blueprint("public", __name__)

ANSWERS = {"safe": "safe", "help": "need_help"}


def _resolve(token: str):
    """(incident, traveller) for a valid link, or an error page response."""
    try:
        incident_id, traveller_id = read_token(token)
    except LinkExpired:
        return None, None, (render_template("public/link_error.html", reason="expired"), 410)
    except LinkInvalid:
        return None, None, (render_template("public/link_error.html", reason="invalid"), 400)
    session = db_session()
    incident = session.get(Incident, incident_id)
    traveller = session.get(Traveller, traveller_id)
    if incident is None or traveller is None:
        return None, None, (render_template("public/link_error.html", reason="invalid"), 404)
    return incident, traveller, None


def _page(incident, traveller, token, recorded: bool = False, status_code: int = 200):
    current = latest_response(incident.id, traveller.id)
    lang = request.args.get("lang") if request.args.get("lang") in ("en", "fr") else traveller.language
    with force_locale(lang):
        return render_template("public/respond.html", incident=incident, traveller=traveller, token=token,
                               current=current, recorded=recorded, page_lang=lang), status_code


@bp.get("/r/<token>")
def respond_page(token: str):
    incident, traveller, error = _resolve(token)
    if error:
        return error
    return _page(incident, traveller, token)


@bp.get("/r/<token>/<answer>")
def one_click(token: str, answer: str):
    """The email's one-click answer. Idempotent: a second click records nothing new."""
    if answer not in ANSWERS:
        abort(404)
    incident, traveller, error = _resolve(token)
    if error:
        return error
    record_response(incident.id, traveller.id, ANSWERS[answer], "link")
    return _page(incident, traveller, token, recorded=True)


@bp.post("/r/<token>")
def respond_form(token: str):
    incident, traveller, error = _resolve(token)
    if error:
        return error
    answer = request.form.get("answer")
    if answer not in ANSWERS:
        return _page(incident, traveller, token, status_code=400)
    record_response(incident.id, traveller.id, ANSWERS[answer], "web", message=request.form.get("message"),
                    reported_by="traveller")
    return _page(incident, traveller, token, recorded=True)
