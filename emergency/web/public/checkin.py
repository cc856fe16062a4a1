"""Crisis-time sign-up: "I am in the affected area", for people who never registered.

`/now` lists the incidents under way; each links to a short form (name, email or phone,
language, "I am safe" / "I need help", an optional message) that takes under a minute.

Someone who matches no one (by email or phone, any format we can read) is recorded as a
minimal traveller (source "checkin") with a stop in the incident's zone for today, and their
answer enters the incident's safety check at once — the dashboard counts answers from people
who were not on a recipient list.

A check-in whose email or phone matches a registered traveller does not speak for them:
anyone may know a person's email. It is kept as an unverified report, shown to coordinators
as such, and a one-time code goes to that traveller's own contact; only the code, entered on
the page the check-in leads to (`checkin_verify`), records the answer as theirs. It changes
nothing on their record. Both kinds of check-in get the same page, so it reveals nobody's
registration. The page exists only while the incident is active. Audit entries hold ids,
never names or contacts.
"""
from __future__ import annotations

from datetime import date, timedelta

import shapely
from flask import Blueprint, abort, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.i18n import current_language, other_language
from emergency.core.models import CheckinReport, Incident
from emergency.core.rate_limits import CHECKIN_PER_IP, limiter
from emergency.jobs.checkin_codes import queue_checkin_code
from emergency.services.checkin_codes import CODE_DIGITS, report_token
from emergency.services.checkin_reports import create_report
from emergency.services.responses import record_response
from emergency.web.public.registration import consent_error, consent_version, errors_by_field
from geo import countries
from registry.errors import FieldError, ValidationFailed
from registry.models import Stop, Traveller, Trip
from registry.service import ErrorCollector, find_traveller_by_contact, is_blank
from registry.validation import normalise_email, normalise_language, normalise_name, normalise_phone

bp = Blueprint("checkin", __name__)

ANSWERS = {"safe": "safe", "help": "need_help"}
MESSAGE_MAX = 2000
# A check-in stop lasts this long when the incident has no end: long enough for follow-up,
# short enough that the person does not stay "in the zone" for ever.
OPEN_STAY_DAYS = 14


def active_incidents() -> list[Incident]:
    return list(db_session().scalars(
        select(Incident).where(Incident.status == "active").order_by(Incident.starts_at.desc())))


def _active_or_404(incident_id: int) -> Incident:
    incident = db_session().get(Incident, incident_id)
    if incident is None or incident.status != "active":
        abort(404)
    return incident


@bp.get("/now")
def now():
    return render_template("public/now.html", incidents=active_incidents())


# --- the form ---------------------------------------------------------------------------

def read_form(form) -> dict:
    return {
        "given_name": (form.get("given_name") or "").strip(),
        "family_name": (form.get("family_name") or "").strip(),
        "email": (form.get("email") or "").strip(),
        "phone": (form.get("phone") or "").strip(),
        "language": (form.get("language") or "").strip(),
        "answer": (form.get("answer") or "").strip(),
        "message": (form.get("message") or "").strip(),
        "consent": form.get("consent") in ("1", "on", "yes", "true", "y"),
    }


def validate(values: dict) -> dict:
    """Clean values, or `ValidationFailed` naming every wrong field."""
    col = ErrorCollector()
    clean = {
        "given_name": col.run(normalise_name, values["given_name"], field="given_name"),
        "family_name": col.run(normalise_name, values["family_name"], field="family_name"),
        "language": col.run(normalise_language, values["language"], field="language"),
        "email": None, "phone": None,
    }
    if is_blank(values["email"]) and is_blank(values["phone"]):
        col.add("email", N_("Give an email address or a mobile number so we can reach you."))
    if not is_blank(values["email"]):
        clean["email"] = col.run(normalise_email, values["email"], field="email")
    if not is_blank(values["phone"]):
        clean["phone"] = col.run(normalise_phone, values["phone"], field="phone")
    if values["answer"] not in ANSWERS:
        col.add("answer", N_("Tell us whether you are safe or need help."))
    if len(values["message"]) > MESSAGE_MAX:
        col.add("message", N_("At most %(max)d characters."), max=MESSAGE_MAX)
    if not values["consent"]:
        col.errors.append(consent_error())
    if col.errors:
        raise ValidationFailed(col.errors)
    return clean


def zone_stop(incident: Incident) -> dict | None:
    """Where to place someone who says they are in the zone but gave no location: the
    country the zone's centre lies in (or the first country the zone touches), known only by
    country. Pinning them at the zone's centre would show an invented exact point on the
    incident's pages and put them inside any later zone drawn around that spot. None for a
    zone entirely at sea."""
    from emergency.services.incidents import incident_zone

    zone = incident_zone(incident)
    lat, lon = zone.centre()
    touched = sorted(zone.touched_countries())
    at_centre = sorted(countries.countries_intersecting(shapely.Point(lon, lat)))
    for code in at_centre:
        if not touched or code in touched:
            return {"country": code, "lat": None, "lon": None, "precision": "country"}
    if touched:
        return {"country": touched[0], "lat": None, "lon": None, "precision": "country"}
    return None


def _stay(incident: Incident, today: date) -> date:
    ends = incident.ends_at
    if ends is not None and ends.date() >= today:
        return ends.date()
    return today + timedelta(days=OPEN_STAY_DAYS)


def _add_zone_stop(traveller: Traveller, incident: Incident, place: dict | None, today: date) -> None:
    if place is None:
        return
    trip = Trip(traveller_id=traveller.id, purpose=None)
    trip.stops = [Stop(traveller_id=traveller.id, country=place["country"], lat=place["lat"],
                       lon=place["lon"], precision=place["precision"], arrival=today,
                       departure=_stay(incident, today))]
    traveller.trips.append(trip)


def check_in(incident: Incident, clean: dict, answer: str, message: str | None) -> CheckinReport:
    """Keep the check-in as a report. A registered traveller's contact gets a code and
    nothing else happens to their record or answers; someone unknown becomes a traveller in
    the zone whose answer counts at once. Commits, then queues the code."""
    session = db_session()
    known = find_traveller_by_contact(session, email=clean["email"], phone=clean["phone"])
    if known is not None:
        report = create_report(incident, known, True, clean, ANSWERS[answer], message)
        session.commit()
        queue_checkin_code(report.id)
        return report
    now = utcnow()
    traveller = Traveller(given_name=clean["given_name"], family_name=clean["family_name"],
                          email=clean["email"], phone=clean["phone"], language=clean["language"],
                          source="checkin", consent_at=now, consent_version=consent_version(),
                          created_at=now, updated_at=now)
    session.add(traveller)
    session.flush()
    _add_zone_stop(traveller, incident, zone_stop(incident), now.date())
    session.flush()
    record_response(incident.id, traveller.id, ANSWERS[answer], "web", message=message, commit=False)
    report = create_report(incident, traveller, False, clean, ANSWERS[answer], message)
    audit.record("traveller.checked_in", "incident", incident.id, actor=f"traveller:{traveller.id}",
                 traveller_id=traveller.id, merged=False)
    session.commit()
    return report


def _form(incident: Incident, values: dict, errors: list[FieldError], status: int = 200):
    return render_template("public/checkin.html", incident=incident, values=values,
                           errors=errors_by_field(errors, current_language())), status


@bp.get("/incidents/<int:incident_id>/checkin")
def checkin_form(incident_id: int):
    incident = _active_or_404(incident_id)
    values = read_form({})
    values["language"] = current_language()
    return _form(incident, values, [])


def done_texts(lang: str, answer: str) -> dict:
    with force_locale(lang):
        return {
            "lang": lang,
            "title": _("Thank you, your answer is recorded"),
            "body": (_("We have noted that you are safe.") if answer == "safe" else
                     _("We have noted that you need help. Consular staff will contact you as "
                       "soon as possible.")),
            "advice": _("If your life is in danger, call the local emergency services first."),
            "register": _("Register your trip"),
            "code_intro": _("If this email address or mobile number is already registered with "
                            "us, we have sent it a %(digits)d-digit code. Enter it on this page "
                            "to confirm that this answer comes from you: until then, it does "
                            "not change the registered record.", digits=CODE_DIGITS),
        }


@bp.post("/incidents/<int:incident_id>/checkin")
@limiter.limit(CHECKIN_PER_IP, methods=["POST"])
def checkin_submit(incident_id: int):
    incident = _active_or_404(incident_id)
    values = read_form(request.form)
    try:
        clean = validate(values)
    except ValidationFailed as exc:
        return _form(incident, values, exc.errors, 400)
    report = check_in(incident, clean, values["answer"], values["message"] or None)
    first = clean["language"]
    second = other_language(first)
    with force_locale(first):
        form = code_form_texts()
    return render_template("public/checkin_done.html", incident=incident, token=report_token(report.id),
                           form=form, form_lang=first,
                           sections=[done_texts(first, values["answer"]),
                                     done_texts(second, values["answer"])])


def code_form_texts() -> dict:
    """The code form's words, in the current locale."""
    return {
        "label": _("Code"),
        "hint": _("%(digits)d digits, sent by text message or email", digits=CODE_DIGITS),
        "button": _("Confirm my answer"),
    }
