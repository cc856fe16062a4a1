"""Traveller-facing safety-check pages: the one-click links from the email and the page
where an answer can be given or changed, with a message. No log-in: the signed link is
the credential, and it shows nothing about anyone else.

Only a POST records an answer. Mail scanners and link previews open every link of an email
with GET or HEAD, so the email's one-click links open the answer page with that answer
chosen, and the traveller's one tap on its button sends it.

The traveller's answer covers the companions on their registration: the page lists them,
each "same as my answer" unless the traveller picks another answer for someone, so the one
tap still answers for everyone. "Same" records nothing about the companion: an answer given
for them by name (by the traveller earlier, or an officer) stands until someone picks another
one for them, and their own answer (by SMS) always wins; the page shows both. An answer
through a link we emailed names that message (`source_message`).

A link sent to a traveller's emergency contact (the follow-up that asks them about the
traveller) opens the same page in the contact's language: their answer is the traveller's,
recorded as given by that contact, and covers the household like the traveller's own."""
from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, abort, render_template, request
from flask_babel import force_locale

from emergency.core.database import db_session
from emergency.core.models import Incident
from emergency.core.security import csrf
from emergency.services.households import household
from emergency.services.responses import latest_response, record_response
from emergency.services.safety_links import LinkExpired, LinkInvalid, read_token
from registry.models import EmergencyContact, Traveller

bp = Blueprint("public", __name__)

ANSWERS = {"safe": "safe", "help": "need_help"}
# One field per companion, `companion-<id>`: "same" (the traveller's answer covers them) or
# an answer word for that companion alone.
COMPANION_FIELD = "companion-"
SAME = "same"
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


class _Link(NamedTuple):
    incident: Incident
    traveller: Traveller
    source_message: str | None  # the message the link came in, if the token names it
    contact: EmergencyContact | None = None  # the emergency contact the link was sent to


def _resolve(token: str):
    """(the link's target, None) for a valid link, or (None, an error page response). A
    contact's link must name a contact of that traveller."""
    try:
        target = read_token(token)
    except LinkExpired:
        return None, (render_template("public/link_error.html", reason="expired"), 410)
    except LinkInvalid:
        return None, (render_template("public/link_error.html", reason="invalid"), 400)
    session = db_session()
    incident = session.get(Incident, target.incident_id)
    traveller = session.get(Traveller, target.traveller_id)
    contact = session.get(EmergencyContact, target.contact_id) if target.contact_id is not None else None
    if (incident is None or traveller is None
            or (target.contact_id is not None and (contact is None or contact.traveller_id != traveller.id))):
        return None, (render_template("public/link_error.html", reason="invalid"), 404)
    return _Link(incident, traveller, target.source_message, contact), None


def _page(link: _Link, token, *, recorded: bool = False, chosen: str | None = None,
          via: str | None = None, message: str = "", group: dict | None = None, status_code: int = 200):
    """The answer page in the reader's language (the link's ?lang= first). `chosen` is the
    answer word pre-selected; without one, the current answer, else "safe". `group` is what
    was picked for each companion (by id), "same" unless said. A contact answers for the
    traveller only: the page lists no companions to them."""
    incident, traveller, contact = link.incident, link.traveller, link.contact
    current = latest_response(incident.id, traveller.id)
    if chosen not in ANSWERS:
        chosen = "help" if current is not None and current.status == "need_help" else "safe"
    companions = household(incident.id, traveller.id)[1:] if contact is None else []
    reader = contact if contact is not None else traveller
    lang = request.args.get("lang") if request.args.get("lang") in ("en", "fr") else reader.language
    with force_locale(lang):
        return render_template("public/respond.html", incident=incident, traveller=traveller, token=token,
                               contact=contact, current=current, recorded=recorded, chosen=chosen, via=via,
                               message=message, page_lang=lang, companions=companions,
                               group=group or {}), status_code


def _group_answers(form, traveller: Traveller) -> dict[int, str] | None:
    """What the form says for each companion ({companion id: "same", "safe" or "help"}), or
    None when it names someone who is not on this registration or an answer we do not know:
    a forged or stale form records nothing."""
    picked: dict[int, str] = {}
    mine = {c.id for c in traveller.companions}
    for key, value in form.items():
        if not key.startswith(COMPANION_FIELD):
            continue
        raw = key.removeprefix(COMPANION_FIELD)
        companion_id = int(raw) if raw.isdigit() else None
        if companion_id not in mine or (value != SAME and value not in ANSWERS):
            return None
        picked[companion_id] = value
    return picked


@bp.get("/r/<token>")
def respond_page(token: str):
    link, error = _resolve(token)
    if error:
        return error
    return _page(link, token)


@bp.get("/r/<token>/<answer>")
def one_click(token: str, answer: str):
    """The email's one-click link (GET and HEAD): the page with this answer chosen. It records
    nothing, since whatever opened the link may not be the traveller."""
    if answer not in ANSWERS:
        abort(404)
    link, error = _resolve(token)
    if error:
        return error
    return _page(link, token, chosen=answer, via=VIA_LINK)


@bp.post("/r/<token>")
@csrf.exempt
def respond_form(token: str):
    """Record the answer. Idempotent: the same answer again records nothing new.

    No CSRF form token: the signed link in the URL is the credential (only the traveller and
    we hold it), and a form token would turn away a traveller whose browser keeps no cookies,
    in a crisis, for no protection the link does not already give."""
    link, error = _resolve(token)
    if error:
        return error
    incident, traveller = link.incident, link.traveller
    answer = request.form.get("answer")
    via = VIA_LINK if request.form.get("via") == VIA_LINK else None
    group = _group_answers(request.form, traveller) if link.contact is None else {}
    if answer not in ANSWERS or group is None:
        return _page(link, token, via=via, chosen=answer, message=request.form.get("message") or "",
                     status_code=400)
    channel = via or "web"
    session = db_session()
    contact = link.contact
    record_response(incident.id, traveller.id, ANSWERS[answer], channel, message=request.form.get("message"),
                    reported_by="contact" if contact is not None else "traveller",
                    reporter_name=contact.name if contact is not None else None,
                    source_message=link.source_message, commit=False)
    for companion_id, picked in group.items():
        if picked != SAME:  # "same": the traveller's answer covers them (or what they have stands)
            record_response(incident.id, traveller.id, ANSWERS[picked], channel, reported_by="traveller",
                            source_message=link.source_message, companion_id=companion_id, commit=False)
    session.commit()
    return _page(link, token, recorded=True)
