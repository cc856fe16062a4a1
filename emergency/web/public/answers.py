"""Traveller-facing safety-check pages: the one-click links from the email and the page
where an answer can be given or changed, with a message. No log-in: the signed link is
the credential, and it shows nothing about anyone else.

Only a POST records an answer. Mail scanners and link previews open every link of an email
with GET or HEAD, so the email's one-click links open the answer page with that answer
chosen, and the traveller's one tap on its button sends it."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import force_locale

from emergency.core.database import db_session
from emergency.core.models import Incident
from emergency.core.security import csrf
from emergency.services.responses import latest_response, record_response
from emergency.services.safety_links import LinkExpired, LinkInvalid, read_link
from registry.models import EmergencyContact, Traveller

bp = Blueprint("public", __name__)

ANSWERS = {"safe": "safe", "help": "need_help"}
# The answer page's form says "via=link" when it was opened from the email's one-click
# link, so the answer keeps the channel that brought the traveller.
VIA_LINK = "link"


@bp.after_request
def _private_page(response):
    """The token in the URL is the credential: no shared cache keeps these pages, and no
    link on them sends the URL on as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _resolve(token: str):
    """(incident, traveller, emergency contact or None) for a valid link, or an error page
    response. A contact's link (from the follow-up that asked them about the traveller)
    answers about the traveller, in the contact's name."""
    failed = None, None, None
    try:
        incident_id, traveller_id, contact_id = read_link(token)
    except LinkExpired:
        return *failed, (render_template("public/link_error.html", reason="expired"), 410)
    except LinkInvalid:
        return *failed, (render_template("public/link_error.html", reason="invalid"), 400)
    session = db_session()
    incident = session.get(Incident, incident_id)
    traveller = session.get(Traveller, traveller_id)
    contact = session.get(EmergencyContact, contact_id) if contact_id is not None else None
    if (incident is None or traveller is None
            or (contact_id is not None and (contact is None or contact.traveller_id != traveller.id))):
        return *failed, (render_template("public/link_error.html", reason="invalid"), 404)
    return incident, traveller, contact, None


def _page(incident, traveller, token, *, contact=None, recorded: bool = False, chosen: str | None = None,
          via: str | None = None, message: str = "", status_code: int = 200):
    """The answer page in the reader's language (the link's ?lang= first). `chosen` is the
    answer word pre-selected; without one, the current answer, else "safe"."""
    current = latest_response(incident.id, traveller.id)
    if chosen not in ANSWERS:
        chosen = "help" if current is not None and current.status == "need_help" else "safe"
    reader = contact if contact is not None else traveller
    lang = request.args.get("lang") if request.args.get("lang") in ("en", "fr") else reader.language
    with force_locale(lang):
        return render_template("public/respond.html", incident=incident, traveller=traveller, token=token,
                               contact=contact, current=current, recorded=recorded, chosen=chosen, via=via,
                               message=message, page_lang=lang), status_code


@bp.get("/r/<token>")
def respond_page(token: str):
    incident, traveller, contact, error = _resolve(token)
    if error:
        return error
    return _page(incident, traveller, token, contact=contact)


@bp.get("/r/<token>/<answer>")
def one_click(token: str, answer: str):
    """The email's one-click link (GET and HEAD): the page with this answer chosen. It records
    nothing, since whatever opened the link may not be the traveller."""
    if answer not in ANSWERS:
        abort(404)
    incident, traveller, contact, error = _resolve(token)
    if error:
        return error
    return _page(incident, traveller, token, contact=contact, chosen=answer, via=VIA_LINK)


@bp.post("/r/<token>")
@csrf.exempt
def respond_form(token: str):
    """Record the answer. Idempotent: the same answer again records nothing new.

    No CSRF form token: the signed link in the URL is the credential (only the traveller and
    we hold it), and a form token would turn away a traveller whose browser keeps no cookies,
    in a crisis, for no protection the link does not already give."""
    incident, traveller, contact, error = _resolve(token)
    if error:
        return error
    answer = request.form.get("answer")
    via = VIA_LINK if request.form.get("via") == VIA_LINK else None
    if answer not in ANSWERS:
        return _page(incident, traveller, token, contact=contact, via=via, status_code=400)
    if contact is not None:
        record_response(incident.id, traveller.id, ANSWERS[answer], via or "web", message=request.form.get("message"),
                        reported_by="contact", reporter_name=contact.name)
    else:
        record_response(incident.id, traveller.id, ANSWERS[answer], via or "web", message=request.form.get("message"),
                        reported_by="traveller")
    return _page(incident, traveller, token, contact=contact, recorded=True)
