"""The console's blueprint and what every console page shares: template helpers, the
status vocabulary, error handlers, and looking up the incident a URL names.

Route modules (`login`, `incidents`, `alerts`, `outbox`, `base_map`, `incident_map`) add
their views to `bp`; the package imports them all, so registering `bp` registers them.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from emergency.core.i18n import current_language
from emergency.core.models import Incident
from emergency.services import incidents
from emergency.web.console.forms import IncidentForm
from geo import countries

bp = Blueprint("console", __name__)

STATUS_LABELS = {
    "active": _l("Active"), "closed": _l("Closed"),
    "draft": _l("Draft"), "approved": _l("Approved"), "sending": _l("Sending"), "sent": _l("Sent"),
    "pending": _l("Pending"), "delivered": _l("Delivered"), "failed": _l("Failed"),
    "safe": _l("Safe"), "need_help": _l("Needs help"), "no_answer": _l("No answer"),
    "point": _l("Exact point"), "city": _l("City centre"), "country": _l("Country only"),
    "email": _l("Email"), "sms": _l("SMS"), "link": _l("Link in a message"), "web": _l("Web page"),
    "console": _l("Console"),
    "traveller": _l("The traveller"), "companion": _l("A companion"), "officer": _l("An officer, by phone"),
    "unverified": _l("Unverified report"), "contact": _l("Their emergency contact"),
    "safety_check": _l("Safety check"), "information": _l("Information"), "all_clear": _l("All clear"),
    "follow_up": _l("Follow-up round"), "contact_check": _l("Emergency contacts asked"),
    "viewer": _l("viewer"), "coordinator": _l("coordinator"), "approver": _l("approver"),
    "admin": _l("administrator"), "partner": _l("partner"),
}
# Languages by name, not by code, wherever a page shows a person's language.
LANGUAGE_NAMES = {"en": _l("English"), "fr": _l("French")}


@bp.app_template_filter("number")
def format_number(value, digits: int | None = None) -> str:
    """A number as the reader writes it: 1,234.5 in English, 1 234,5 in French (Babel's
    locale data), with `digits` decimals when given; "—" for None."""
    if value is None:
        return "—"
    if digits is None:
        return format_decimal(value)
    return format_decimal(value, format="#,##0." + "0" * digits) if digits else format_decimal(round(value))


@bp.app_template_filter("utc")
def format_utc(value: datetime | date | None) -> str:
    """A date-time as 'YYYY-MM-DD HH:MM UTC' (naive values from SQLite are UTC)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


@bp.app_context_processor
def _helpers():
    def lang_url(code: str) -> str:
        """This page in another language (keeps the other query arguments)."""
        args = request.args.to_dict(flat=False)
        args["lang"] = [code]
        return f"{request.path}?{urlencode(args, doseq=True)}"

    def status_label(value) -> str:
        label = STATUS_LABELS.get(value)
        return str(label) if label is not None else ("—" if value in (None, "") else str(value))

    def can(role: str) -> bool:
        return bool(getattr(current_user, "is_authenticated", False) and current_user.has_role(role))

    def translate_text(text: str | None) -> str:
        """A stored English message (e.g. a zone repair note) in the reader's language."""
        return _(text) if text else ""

    def language_label(code) -> str:
        name = LANGUAGE_NAMES.get(code)
        return str(name) if name is not None else ("—" if not code else str(code))

    def country_label(code) -> str:
        """A country's name in the page's language (its code only when unknown)."""
        return (countries.country_name(code, current_language()) or code) if code else "—"

    return {"lang_url": lang_url, "status_label": status_label, "can": can, "language_label": language_label,
            "country_label": country_label, "translate_text": translate_text, "provenance": provenance,
            "outbox_open": outbox_open}


def outbox_open() -> bool:
    """The outbox (see `outbox`) exists in development mode only."""
    return current_app.config.get("ENV_NAME") == "development"


def reporter_label(reported_by: str, reporter_name: str | None, traveller_name: str) -> str:
    """Who gave an answer, in a sentence: the traveller's name, the officer, the companion."""
    if reported_by == "traveller":
        return traveller_name
    if reported_by == "officer":
        return _("officer %(name)s", name=reporter_name) if reporter_name else _("an officer")
    if reported_by == "companion":
        return reporter_name or _("a companion")
    return _("an unverified report")


def provenance(person, traveller_name: str) -> str:
    """Where a household member's status comes from (`households.Person`): their own answer,
    someone's answer for them by name, or the traveller's answer covering them."""
    if person.basis == "own":
        return _("own answer")
    if person.basis == "covered":
        return _("covered by %(name)s's answer", name=traveller_name)
    if person.basis == "for":
        answer = person.answer
        return _("reported by %(reporter)s for %(person)s",
                 reporter=reporter_label(answer.reported_by, answer.reporter_name, traveller_name),
                 person=person.name)
    return ""


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no '//' or backslash tricks, and no
    control character or space anywhere (browsers drop tabs and newlines from URLs, so
    "/<tab>/evil.example" would become "//evil.example"; a CR or LF would not fit in a header)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err):
    limit_mb = round(current_app.config.get("MAX_CONTENT_LENGTH", 0) / (1024 * 1024), 1)
    message = _("The file is too large (at most %(mb)s MB).", mb=limit_mb)
    if request.path.endswith("/preview") or request.accept_mimetypes.best == "application/json":
        return jsonify({"errors": {"zone": message}}), 413
    form = IncidentForm(formdata=None)
    return render_template("console/incident_new.html", form=form, errors={"zone": message}), 413


@bp.errorhandler(CSRFError)
def _csrf_failed(_err):
    """An expired or missing form token: say so and send the person back to try again."""
    message = _("Your session expired or the form was stale. Please try again.")
    if request.is_json or request.path.endswith((".json", "/preview", "/sms-info", "/sms-estimate")):
        return jsonify({"errors": {"form": message}}), 400
    flash(message, "error")
    back = request.referrer or ""
    parts = urlsplit(back)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.netloc and parts.netloc != request.host:
        target = ""
    if not is_safe_next(target):
        target = url_for("console.index")
    return redirect(target)


def get_incident_or_404(incident_id: int) -> Incident:
    incident = incidents.get_incident(incident_id)
    if incident is None:
        abort(404)
    return incident
