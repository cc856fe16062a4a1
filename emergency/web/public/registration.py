"""The public, bilingual page where a traveller registers a trip.

The page only collects text: every rule about what a valid traveller is lives in
`registry.service.validate_traveller`, so the web form, the API and the importer accept and
refuse exactly the same things. This module turns the posted form into a `TravellerInput`,
adds the one rule that belongs to the page itself (consent must be ticked here and now),
shows every error next to its field in the page's language, and on success commits the
traveller with an audit entry that carries no personal data.

The form works without JavaScript for one destination: stop fields are plain inputs named
`stops-<i>-<field>`; the script only adds rows, suggests cities and lets a point be picked
on a map. Companions (`companions-<i>-<field>`) and emergency contacts (`contacts-<i>-<field>`)
follow the same pattern in optional, collapsed sections so the quick path stays quick.

Registering again with an address we already hold shows the same thank-you page (so the page
never tells a stranger who is registered) and sends the owner of the address a sign-in link
to manage their trips instead.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.i18n import current_language, other_language
from emergency.core.i18n_errors import translate
from emergency.core.rate_limits import REGISTER_PER_IP, limiter
from emergency.services.consent import CONSENT_VERSION
from geo import countries
from registry.errors import FieldError, ValidationFailed
from registry.household import MAX_CONTACTS, CompanionInput, ContactInput
from registry.models import AGE_BANDS, MAX_COMPANIONS, TRIP_PURPOSES
from registry.service import (
    MAX_STOPS,
    StopInput,
    TravellerInput,
    find_traveller_by_contact,
    register_traveller,
    validate_traveller,
)

bp = Blueprint("registration", __name__)

LANGUAGES = ("en", "fr")
STOP_FIELDS = ("country", "place", "lat", "lon", "arrival", "departure", "address")
_STOP_KEY = re.compile(r"^stops-(\d{1,3})-(%s)$" % "|".join(STOP_FIELDS))
COMPANION_FIELDS = ("given_name", "family_name", "age_band", "email", "phone", "non_citizen")
CONTACT_FIELDS = ("name", "relationship", "phone", "email", "language")
# Fields that do not make a row "filled in" on their own (a default language, a checkbox).
_ROW_DEFAULTS = ("language", "non_citizen")
SUGGEST_DEFAULT_LIMIT = 8
SUGGEST_MAX_LIMIT = 20


# --- reading the form -------------------------------------------------------------------

def parse_stops(form) -> list[dict[str, str]]:
    """The stop rows of a posted form, in the order of their indices, renumbered from 0.

    Rows the script added and the traveller left completely blank are dropped, but at least
    one row is always kept so that "choose a country" can be shown next to it. At most
    `MAX_STOPS + 1` rows are read: enough for the service to say "too many", no more.
    """
    rows: dict[int, dict[str, str]] = {}
    for key in form.keys():
        match = _STOP_KEY.match(key)
        if match:
            index, name = int(match.group(1)), match.group(2)
            rows.setdefault(index, {})[name] = (form.get(key) or "").strip()
    ordered = [rows[i] for i in sorted(rows)][: MAX_STOPS + 1]
    stops = [{name: row.get(name, "") for name in STOP_FIELDS} for row in ordered]
    filled = [s for s in stops if any(s.values())]
    return filled or [stops[0] if stops else dict.fromkeys(STOP_FIELDS, "")]


def parse_rows(form, prefix: str, fields: tuple[str, ...], limit: int) -> list[dict[str, str]]:
    """Rows named `<prefix>-<i>-<field>`, in index order, blank rows dropped, at most
    `limit + 1` kept (enough for the service to say "too many")."""
    pattern = re.compile(r"^%s-(\d{1,3})-(%s)$" % (prefix, "|".join(fields)))
    rows: dict[int, dict[str, str]] = {}
    for key in form.keys():
        match = pattern.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = (form.get(key) or "").strip()
    ordered = [{name: rows[i].get(name, "") for name in fields} for i in sorted(rows)]
    filled = [r for r in ordered if any(v for k, v in r.items() if k not in _ROW_DEFAULTS)]
    return filled[: limit + 1]


def read_form(form) -> dict[str, Any]:
    """The posted values as plain strings, kept to re-fill the form after an error."""
    return {
        "date_of_birth": (form.get("date_of_birth") or "").strip(),
        "phone2": (form.get("phone2") or "").strip(),
        "purpose": (form.get("purpose") or "").strip(),
        "companions": parse_rows(form, "companions", COMPANION_FIELDS, MAX_COMPANIONS),
        "contacts": parse_rows(form, "contacts", CONTACT_FIELDS, MAX_CONTACTS),
        "given_name": (form.get("given_name") or "").strip(),
        "family_name": (form.get("family_name") or "").strip(),
        "email": (form.get("email") or "").strip(),
        "phone": (form.get("phone") or "").strip(),
        "language": (form.get("language") or "").strip(),
        "consent": form.get("consent") in ("1", "on", "yes", "true", "y"),
        "stops": parse_stops(form),
    }


def to_input(values: dict[str, Any]) -> TravellerInput:
    return TravellerInput(
        given_name=values["given_name"], family_name=values["family_name"],
        email=values["email"], phone=values["phone"], language=values["language"],
        stops=[StopInput(**stop) for stop in values["stops"]],
        date_of_birth=values.get("date_of_birth"), phone2=values.get("phone2"),
        purpose=values.get("purpose"),
        companions=[CompanionInput(**row) for row in values.get("companions", [])],
        emergency_contacts=[ContactInput(**row) for row in values.get("contacts", [])],
        consent_version=consent_version(),
    )


def consent_version() -> str:
    """The version of the consent wording shown on this page, stored with the record."""
    return CONSENT_VERSION


# --- showing errors ---------------------------------------------------------------------

def localise(err: FieldError, lang: str) -> str:
    """The error in the page's language. The registry names countries in English (it has no
    idea who reads it), so a country code in the parameters is renamed for this reader."""
    params = dict(err.params or {})
    code = params.get("country_code")
    if code and "country" in params:
        params["country"] = countries.country_name(code, lang) or params["country"]
    return translate(dataclasses.replace(err, params=params))


def errors_by_field(errors: list[FieldError], lang: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for err in errors:
        out.setdefault(err.field, []).append(localise(err, lang))
    return out


def place_suggestions(errors: list[FieldError]) -> dict[str, list[str]]:
    """Names offered instead of a city we could not find, keyed by the place field."""
    return {e.field: list(e.params.get("suggestions") or []) for e in errors
            if e.params.get("suggestions")}


def consent_error() -> FieldError:
    """Consent is asked on this page, so this page checks it (the importer has its own basis)."""
    return FieldError("consent", N_("Tick the box to agree that we may contact you in an "
                                    "emergency; we cannot register you without it."))


# --- views -------------------------------------------------------------------------------

def _render_form(values: dict[str, Any], errors: list[FieldError], status: int = 200):
    lang = current_language()
    return render_template(
        "public/register.html",
        values=values,
        errors=errors_by_field(errors, lang),
        suggestions=place_suggestions(errors),
        country_choices=countries.all_countries(lang),
        max_stops=MAX_STOPS,
        max_companions=MAX_COMPANIONS,
        max_contacts=MAX_CONTACTS,
        age_bands=AGE_BANDS,
        purposes=purpose_choices(),
        companion_fields=COMPANION_FIELDS,
        contact_fields=CONTACT_FIELDS,
    ), status


def purpose_choices() -> list[tuple[str, str]]:
    """(value, label) for the purpose-of-travel list, in the page's language."""
    labels = {
        "tourism": _("Tourism"), "business": _("Business"), "study": _("Study"),
        "family": _("Visiting family"), "work": _("Work"), "volunteer": _("Volunteering"),
        "other": _("Other"),
    }
    return [(value, labels[value]) for value in TRIP_PURPOSES]


def _blank_values() -> dict[str, Any]:
    return {
        "given_name": "", "family_name": "", "email": "", "phone": "",
        "language": current_language(), "consent": False,
        "stops": [dict.fromkeys(STOP_FIELDS, "")],
        "date_of_birth": "", "phone2": "", "purpose": "", "companions": [], "contacts": [],
    }


@bp.get("/register")
def register_form():
    """The empty form, in the language asked for (`?lang=en|fr`) or the browser's."""
    return _render_form(_blank_values(), [])


@bp.post("/register")
@limiter.limit(REGISTER_PER_IP, methods=["POST"])
def register_submit():
    """Check everything, then either show every error (400, nothing saved) or save and thank."""
    values = read_form(request.form)
    errors: list[FieldError] = []
    clean = None
    try:
        clean = validate_traveller(to_input(values))
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if not values["consent"]:
        errors.append(consent_error())
    if errors:
        return _render_form(values, errors, 400)

    session = db_session()
    from emergency.jobs.traveller_mail import queue_registration_confirmation, queue_signin_link

    existing = find_traveller_by_contact(session, email=clean.email) if clean.email else None
    if existing is not None:
        # Same page as a new registration: the form must not reveal who is registered.
        audit.record("traveller.registration_repeated", "traveller", existing.id,
                     actor=f"traveller:{existing.id}")
        session.commit()
        queue_signin_link(existing.id, "already_registered")
        return redirect(url_for("registration.done", lang=clean.language))
    try:
        traveller = register_traveller(session, clean, source="web")
        audit.record("traveller.registered", "traveller", traveller.id,
                     actor=f"traveller:{traveller.id}")
        session.commit()
    except ValidationFailed as exc:  # e.g. a rule that needs the database
        session.rollback()
        return _render_form(values, list(exc.errors), 400)
    except Exception:
        session.rollback()
        raise
    queue_registration_confirmation(traveller.id)
    return redirect(url_for("registration.done", lang=traveller.language))


def thank_you_texts(lang: str) -> dict[str, str]:
    """The thank-you page's words in `lang`, whatever language the page is shown in."""
    with force_locale(lang):
        return {
            "lang": lang,
            "title": _("Thank you, you are registered"),
            "body": _("We will contact you by email or text message if an emergency happens "
                      "where you are travelling."),
            "advice": _("If you need urgent help abroad, contact the nearest embassy or "
                        "consulate."),
            "again": _("Register another trip"),
        }


@bp.get("/register/done")
def done():
    """Thanks in the traveller's language first (the `lang` they were sent with), the other
    language below, so someone reading over their shoulder can read it too."""
    first = current_language()
    second = other_language(first)
    return render_template("public/registered.html",
                           sections=[thank_you_texts(first), thank_you_texts(second)])


@bp.get("/places/suggest")
def suggest_places():
    """Cities in a country whose name starts with `q`, for the form's type-ahead:
    `[{"name": ..., "lat": ..., "lon": ...}, ...]`, most populous first."""
    from geo import gazetteer

    code = (request.args.get("country") or "").strip().upper()
    prefix = " ".join((request.args.get("q") or "").split())
    if not countries.is_country(code):
        return jsonify(error=_("Unknown country code %(code)s.", code=code or "?")), 400
    try:
        limit = int(request.args.get("limit", SUGGEST_DEFAULT_LIMIT))
    except ValueError:
        limit = SUGGEST_DEFAULT_LIMIT
    limit = max(1, min(limit, SUGGEST_MAX_LIMIT))
    if not prefix:
        return jsonify([])
    if len(prefix) > 100:
        abort(400)
    places = gazetteer.suggest(code, prefix, limit)
    return jsonify([{"name": p.name, "lat": float(p.lat), "lon": float(p.lon)} for p in places])
