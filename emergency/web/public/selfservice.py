"""A traveller's own pages, without a password: ask for a sign-in link by email, then see
and change their registration at /my/trips.

Asking for a link always gives the same answer, whether the address is registered or not,
so the page never tells a stranger who is in the registry; the link itself goes only to the
address's owner. Opening the link shows a button that signs in: mail scanners that fetch
every link in a message must not use up a single-use link. Every change is audited without
personal data and confirmed by email; deleting is a real delete.
"""
from __future__ import annotations

import secrets
from functools import wraps

from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.i18n import current_language
from emergency.core.rate_limits import CHECKIN_CODE_PER_IP, CONTACT_CHANGE_PER_IP, SIGNIN_PER_EMAIL, SIGNIN_PER_IP, email_key, limiter
from emergency.jobs.contact_codes import queue_contact_code
from emergency.jobs.traveller_mail import queue_changes_confirmation, queue_signin_link
from emergency.services import contact_changes, privacy, signin
from emergency.web.public.registration import (
    STOP_FIELDS,
    errors_by_field,
    parse_stops,
    place_suggestions,
    purpose_choices,
)
from geo import countries
from registry.errors import FieldError, ValidationFailed
from registry.models import Traveller
from registry.selfservice import add_trip, back_home, cancel_trip, clean_contacts, update_contacts
from registry.service import MAX_STOPS, StopInput, find_traveller_by_contact
from registry.validation import normalise_email

bp = Blueprint("selfservice", __name__, url_prefix="/my")


# --- asking for a link ------------------------------------------------------------------

def _request_page(email: str = "", errors: dict | None = None, sent: bool = False, status: int = 200):
    return render_template("public/my_request.html", email=email, errors=errors or {},
                           sent=sent), status


@bp.get("")
def request_form():
    if signin.signed_in_id() is not None and _current_traveller() is not None:
        return redirect(url_for("selfservice.trips"))
    return _request_page()


@bp.post("")
@limiter.limit(SIGNIN_PER_IP, methods=["POST"])
@limiter.limit(SIGNIN_PER_EMAIL, methods=["POST"], key_func=email_key)
def request_submit():
    """Same page, same status for a registered and an unknown address."""
    raw = (request.form.get("email") or "").strip()
    try:
        email = normalise_email(raw)
    except ValidationFailed as exc:
        lang = current_language()
        return _request_page(raw, errors_by_field(exc.errors, lang), status=400)
    traveller = find_traveller_by_contact(db_session(), email=email)
    if traveller is not None and traveller.email:
        queue_signin_link(traveller.id)
    return _request_page(sent=True)


# --- opening the link -------------------------------------------------------------------

def _link_error(reason: str, status: int):
    return render_template("public/my_link_error.html", reason=reason), status


def _check_link(token: str):
    """None if the link can still be used, else the error page (nothing is consumed)."""
    from itsdangerous import BadSignature, SignatureExpired

    from emergency.core.models import SigninToken

    try:
        traveller_id, nonce = signin._serializer().loads(token, max_age=signin.max_age())
    except SignatureExpired:
        return _link_error("expired", 410)
    except (BadSignature, ValueError, TypeError):
        return _link_error("invalid", 400)
    row = db_session().query(SigninToken).filter(SigninToken.nonce == str(nonce)).first()
    if row is None or row.traveller_id != traveller_id:
        return _link_error("invalid", 400)
    if row.used_at is not None:
        return _link_error("used", 410)
    return None


@bp.get("/signin/<token>")
def open_link(token: str):
    error = _check_link(token)
    if error:
        return error
    return render_template("public/my_signin.html", token=token)


@bp.post("/signin/<token>")
def use_link(token: str):
    try:
        traveller_id = signin.consume_token(token)
    except signin.SigninExpired:
        return _link_error("expired", 410)
    except signin.SigninUsed:
        return _link_error("used", 410)
    except signin.SigninInvalid:
        return _link_error("invalid", 400)
    if db_session().get(Traveller, traveller_id) is None:
        return _link_error("invalid", 400)
    lang = current_language()
    signin.sign_in(traveller_id, token)
    audit.record("traveller.signed_in", "traveller", traveller_id, actor=f"traveller:{traveller_id}")
    db_session().commit()
    return redirect(url_for("selfservice.trips", lang=lang))


@bp.post("/signout")
def sign_out():
    signin.sign_out()
    return redirect(url_for("selfservice.request_form"))


# --- the traveller's own pages ----------------------------------------------------------

def _current_traveller() -> Traveller | None:
    traveller_id = signin.signed_in_id()
    return db_session().get(Traveller, traveller_id) if traveller_id is not None else None


def traveller_required(view):
    """The signed-in traveller is passed to the view; anyone else goes to the link form."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        traveller = _current_traveller()
        if traveller is None:
            signin.sign_out()
            return redirect(url_for("selfservice.request_form"))
        return view(traveller, *args, **kwargs)

    return wrapper


def _trips_page(traveller: Traveller, errors: list[FieldError] | None = None,
                contact_values: dict | None = None, trip_values: dict | None = None, status: int = 200):
    lang = current_language()
    errors = errors or []
    contact_values = contact_values or {
        "email": traveller.email or "", "phone": traveller.phone or "",
        "phone2": traveller.phone2 or "", "language": traveller.language,
    }
    trip_values = trip_values or {"purpose": "", "stops": [dict.fromkeys(STOP_FIELDS, "")]}
    return render_template(
        "public/my_trips.html", traveller=traveller, errors=errors_by_field(errors, lang),
        suggestions=place_suggestions(errors), contact=contact_values, trip=trip_values,
        country_choices=countries.all_countries(lang), country_name=countries.country_name,
        purposes=purpose_choices(), max_stops=MAX_STOPS, messages=get_flashed_messages(),
    ), status


@bp.get("/trips")
@traveller_required
def trips(traveller: Traveller):
    return _trips_page(traveller)


def _changed(traveller: Traveller, change: str, message: str):
    audit.record("traveller.updated", "traveller", traveller.id, actor=f"traveller:{traveller.id}",
                 change=change)
    db_session().commit()
    queue_changes_confirmation(traveller.id, change)
    flash(message)
    return redirect(url_for("selfservice.trips"))


@bp.post("/contacts")
@limiter.limit(CONTACT_CHANGE_PER_IP, methods=["POST"])
@traveller_required
def contacts(traveller: Traveller):
    """Removals and the language apply at once; a new address waits for its code."""
    values = {name: (request.form.get(name) or "").strip() for name in ("email", "phone", "phone2", "language")}
    try:
        clean = clean_contacts(traveller, **values)
    except ValidationFailed as exc:
        db_session().rollback()
        return _trips_page(traveller, exc.errors, contact_values=values, status=400)
    addresses = contact_changes.new_addresses(traveller, clean)
    update_contacts(db_session(), traveller, **values, keep=addresses)
    change_ids = contact_changes.request_changes(traveller, addresses)
    if not change_ids:
        return _changed(traveller, "contacts", _("Your contact details are saved."))
    audit.record("traveller.updated", "traveller", traveller.id, actor=f"traveller:{traveller.id}",
                 change="contacts_pending", fields=sorted(addresses))
    db_session().commit()
    attempt = secrets.token_hex(4)
    for change_id in change_ids:
        queue_contact_code(change_id, attempt)
    queue_changes_confirmation(traveller.id, "contacts")
    flash(_("We sent a code to each new address. Enter it below to start using that address."))
    return redirect(url_for("selfservice.confirm_form"))


CONTACT_LABELS = {"email": N_("Email"), "phone": N_("Mobile phone"), "phone2": N_("Second phone")}
CODE_ERRORS = {
    "wrong": N_("That code is not right. Check the latest message we sent and try again."),
    "expired": N_("That code has expired. Save your contact details again to get a new one."),
    "too_many": N_("Too many wrong codes. Save your contact details again to get a new one."),
    "none": N_("Nothing is waiting for a code."),
}


def _confirm_page(traveller: Traveller, error: str | None = None, status: int = 200):
    return render_template("public/my_contact_confirm.html", changes=contact_changes.pending(traveller.id),
                           labels={k: _(v) for k, v in CONTACT_LABELS.items()}, error=error,
                           messages=get_flashed_messages()), status


@bp.get("/contacts/confirm")
@traveller_required
def confirm_form(traveller: Traveller):
    return _confirm_page(traveller)


@bp.post("/contacts/confirm/<field>")
@limiter.limit(CHECKIN_CODE_PER_IP, methods=["POST"])
@traveller_required
def confirm_contact(traveller: Traveller, field: str):
    if field not in CONTACT_LABELS:
        abort(404)
    outcome = contact_changes.check_code(traveller, field, request.form.get("code"))
    if outcome != "verified":
        return _confirm_page(traveller, _(CODE_ERRORS[outcome]), 400)
    flash(_("Your new contact details are confirmed and saved."))
    if contact_changes.pending(traveller.id):
        return redirect(url_for("selfservice.confirm_form"))
    return redirect(url_for("selfservice.trips"))


@bp.post("/trips")
@traveller_required
def new_trip(traveller: Traveller):
    values = {"purpose": (request.form.get("purpose") or "").strip(), "stops": parse_stops(request.form)}
    try:
        add_trip(db_session(), traveller, [StopInput(**s) for s in values["stops"]], values["purpose"])
    except ValidationFailed as exc:
        db_session().rollback()
        return _trips_page(traveller, exc.errors, trip_values=values, status=400)
    return _changed(traveller, "trip_added", _("Your trip is added."))


@bp.post("/trips/<int:trip_id>/cancel")
@traveller_required
def cancel(traveller: Traveller, trip_id: int):
    if not cancel_trip(db_session(), traveller, trip_id):
        abort(404)
    return _changed(traveller, "trip_cancelled", _("The trip is cancelled."))


@bp.post("/back-home")
@traveller_required
def home(traveller: Traveller):
    ended = back_home(db_session(), traveller)
    if not ended:
        flash(_("You have no trip under way today; nothing was changed."))
        return redirect(url_for("selfservice.trips"))
    return _changed(traveller, "back_home", _("Welcome home. Your current trip has ended."))


@bp.get("/delete")
@traveller_required
def delete_confirm(traveller: Traveller):
    return render_template("public/my_delete.html", traveller=traveller)


@bp.post("/delete")
@traveller_required
def delete(traveller: Traveller):
    if request.form.get("confirm") != "yes":
        return render_template("public/my_delete.html", traveller=traveller, need_confirm=True), 400
    old_id = traveller.id
    privacy.erase_travellers(db_session(), [old_id])
    audit.record("traveller.deleted", "traveller", old_id, actor=f"traveller:{old_id}")
    db_session().commit()
    signin.sign_out()
    return render_template("public/my_deleted.html")
