"""The coordinator web console: log-in, incidents, preview, alerts, the live dashboard, outbox.

Views are thin: they collect input with the forms in `emergency.forms`, call the service
modules (`incidents`, `alerts`, `dashboard`, `webhooks`), which validate, commit and audit,
and show errors in the reader's language. Nothing here writes to the database directly, so
the console and the JSON API cannot drift apart in what they allow.
"""
from __future__ import annotations

import gzip
import json
import uuid
from datetime import date, datetime, timezone
from functools import lru_cache
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template,
    request, url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from . import alerts as alert_service
from . import dashboard, incidents
from .auth import authenticate, role_required
from .database import db_session
from .i18n import current_language
from .forms import AlertForm, IncidentForm, LoginForm, PostForm, ReplyForm
from .models import Alert, Incident

bp = Blueprint("console", __name__)

PREVIEW_LIMIT = 50  # rows shown while drawing a zone
MAP_LIMIT = 500  # travellers pinned on an incident's map
RECIPIENT_LIMIT = 200

STATUS_LABELS = {
    "active": _l("Active"), "closed": _l("Closed"),
    "draft": _l("Draft"), "approved": _l("Approved"), "sending": _l("Sending"), "sent": _l("Sent"),
    "pending": _l("Pending"), "delivered": _l("Delivered"), "failed": _l("Failed"),
    "safe": _l("Safe"), "need_help": _l("Needs help"), "no_answer": _l("No answer"),
    "point": _l("Exact point"), "city": _l("City"), "country": _l("Country only"),
    "email": _l("Email"), "sms": _l("SMS"),
    "viewer": _l("viewer"), "coordinator": _l("coordinator"), "approver": _l("approver"),
    "admin": _l("administrator"), "partner": _l("partner"),
}


# ---------------------------------------------------------------- template helpers

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

    return {"lang_url": lang_url, "status_label": status_label, "can": can,
            "translate_text": translate_text}


def _translate(err) -> str:
    """A service error (.message template + .params) in the reader's language."""
    from .i18n_errors import translate

    return translate(err)


def _is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no '//' or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


# ---------------------------------------------------------------- log-in

@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error, status = None, 200
    if form.validate_on_submit():
        user = authenticate(form.email.data.strip(), form.password.data)
        if user is not None:
            login_user(user)
            target = form.next.data if _is_safe_next(form.next.data) else url_for("console.index")
            return redirect(target)
        error, status = _("Wrong email or password. Please try again."), 401
    elif request.method == "POST":
        error, status = _("Enter your email and password."), 400
    return render_template("console/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("console.login"))


# ---------------------------------------------------------------- incidents

@bp.get("/")
@login_required
def index():
    rows = []
    for incident in incidents.list_incidents():
        rows.append({"incident": incident, "stats": dashboard.incident_stats(incident)})
    return render_template("console/index.html", rows=rows)


def _zone_and_window(form_data, files):
    """Run the services' checks; returns (zone specs, start, end, errors-by-group)."""
    from geo.errors import GeoError

    errors: dict[str, str] = {}
    zone = start = end = None
    kind = form_data.get("zone_kind") or "draw"
    try:  # the main zone and any severity rings (issue 4)
        zone = incidents.specs_from_form(kind, form_data, files)
    except (GeoError, incidents.ZoneSpecError) as err:
        errors["zone"] = _translate(err)
    try:  # an empty start means "now" (the service's default)
        start, end = incidents.parse_window((form_data.get("starts_at") or "").strip() or None,
                                            (form_data.get("ends_at") or "").strip() or None)
    except incidents.WindowError as err:
        errors[err.field if err.field in ("starts_at", "ends_at") else "window"] = _translate(err)
    return zone, start, end, errors


@bp.route("/incidents/new", methods=["GET", "POST"])
@role_required("coordinator")
def new_incident():
    form = IncidentForm()
    errors: dict[str, str] = {}
    if request.method == "GET" and not form.starts_at.data:
        form.starts_at.data = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M")
    if request.method == "POST":
        form_ok = form.validate()
        zone, start, end, errors = _zone_and_window(request.form, request.files)
        if form_ok and not errors:
            try:
                incident = incidents.create_incident(form.title.data.strip(), zone, start, end)
            except incidents.WindowError as err:
                form.title.errors = [*form.title.errors, _translate(err)]
            else:
                flash(_("Incident created."), "success")
                return redirect(url_for("console.incident", incident_id=incident.id))
        flash(_("The incident was not created. Please correct the errors below."), "error")
    status = 400 if request.method == "POST" else 200
    return render_template("console/incident_new.html", form=form, errors=errors), status


@bp.post("/incidents/preview")
@role_required("coordinator")
def preview():
    """Who would be affected by the zone and window being drawn (JSON for the page)."""
    zone, start, end, errors = _zone_and_window(request.form, request.files)
    if errors:
        return jsonify({"errors": errors}), 400
    result = incidents.preview(zone, start, end, limit=PREVIEW_LIMIT, lang=current_language())
    if result.get("note"):
        result["note"] = _(result["note"])
    return jsonify(result)


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
    if not _is_safe_next(target):
        target = url_for("console.index")
    return redirect(target)


def _get_incident_or_404(incident_id: int) -> Incident:
    incident = incidents.get_incident(incident_id)
    if incident is None:
        abort(404)
    return incident


@bp.get("/incidents/<int:incident_id>")
@login_required
def incident(incident_id: int):
    incident = _get_incident_or_404(incident_id)
    return render_template("console/incident.html", **incident_view_context(incident))


@bp.get("/incidents/<int:incident_id>/stats.json")
@login_required
def incident_stats(incident_id: int):
    incident = _get_incident_or_404(incident_id)
    response = jsonify(dashboard.incident_stats(incident))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/incidents/<int:incident_id>/close")
@role_required("coordinator")
def close_incident(incident_id: int):
    incident = _get_incident_or_404(incident_id)
    if PostForm().validate_on_submit():
        if incident.status == "closed":
            flash(_("This incident is already closed."), "info")
        else:
            incidents.close_incident(incident)
            flash(_("Incident closed."), "success")
    return redirect(url_for("console.incident", incident_id=incident.id))


# ---------------------------------------------------------------- alerts

@bp.post("/incidents/<int:incident_id>/alerts")
@role_required("coordinator")
def compose_alert(incident_id: int):
    incident = _get_incident_or_404(incident_id)
    form = AlertForm()
    if form.validate_on_submit():
        try:
            alert = alert_service.compose_alert(incident, form.texts(), list(form.channels.data),
                                                kind=form.kind.data or "safety_check")
        except alert_service.AlertError as err:
            flash(_translate(err), "error")
        else:
            flash(_("Alert %(id)s saved as a draft.", id=alert.id), "success")
            return redirect(url_for("console.incident", incident_id=incident.id, _anchor="alerts"))
    else:
        for field, messages in form.errors.items():
            label = getattr(form, field).label.text if hasattr(form, field) else field
            for message in messages:
                flash(f"{label}: {message}", "error")
    # Re-show the page with what was typed, so nothing is lost.
    page = incident_view_context(incident)
    page["form"] = form
    return render_template("console/incident.html", **page), 400


def incident_view_context(incident: Incident) -> dict:
    """The incident page's context; shared by the GET view and a failed compose."""
    stats = dashboard.incident_stats(incident)
    recipients = dashboard.recipient_rows(incident, limit=RECIPIENT_LIMIT)
    # Affected set, zones with counts, clustered map and export form (issue 4: incident_views)
    from .incident_views import page_parts

    parts = page_parts(incident, limit=MAP_LIMIT, lang=current_language())
    alerts = [{"alert": a, "needs_approval": alert_service.needs_approval(a)} for a in incident.alerts]
    return {
        "incident": incident, "stats": stats, "recipients": recipients, **parts, "alerts": alerts,
        "form": AlertForm(formdata=None, data={**alert_service.default_texts(incident), "kind": "safety_check"}),
        "kind_texts": alert_service.all_default_texts(incident),
        "messages_to_read": dashboard.messages_to_read(incident),
    }


def _get_alert_or_404(alert_id: int) -> Alert:
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.post("/alerts/<int:alert_id>/approve")
@role_required("approver")
def approve_alert(alert_id: int):
    alert = _get_alert_or_404(alert_id)
    if PostForm().validate_on_submit():
        try:
            alert_service.approve_alert(alert)
        except alert_service.AlertError as err:
            flash(_translate(err), "error")
        else:
            flash(_("Alert %(id)s approved.", id=alert.id), "success")
    return redirect(url_for("console.incident", incident_id=alert.incident_id, _anchor="alerts"))


@bp.post("/alerts/<int:alert_id>/send")
@role_required("coordinator")
def send_alert(alert_id: int):
    alert = _get_alert_or_404(alert_id)
    if PostForm().validate_on_submit():
        try:
            alert = alert_service.send_alert(alert)
        except alert_service.AlertError as err:
            flash(_translate(err), "error")
        else:
            flash(_("Alert %(id)s is being sent to %(count)s people.", id=alert.id,
                    count=alert.recipient_count), "success")
    return redirect(url_for("console.incident", incident_id=alert.incident_id, _anchor="alerts"))


@bp.post("/alerts/sms-info")
@login_required
def sms_info():
    """Length, encoding (GSM-7 or UCS-2) and real segment count of an SMS text."""
    payload = request.get_json(silent=True) or {}
    text = payload.get("text", request.form.get("text", ""))
    if not isinstance(text, str):
        return jsonify({"error": _("The text must be a string.")}), 400
    return jsonify(alert_service.sms_info(text))


@bp.post("/incidents/<int:incident_id>/sms-estimate")
@login_required
def sms_estimate(incident_id: int):
    """Per-language SMS recipients, encoding and segments, and the total segments of the send."""
    from . import composer

    incident = _get_incident_or_404(incident_id)
    payload = request.get_json(silent=True) or {}
    texts = {lang: payload.get(f"sms_{lang}", "") for lang in ("en", "fr")}
    if not all(isinstance(t, str) for t in texts.values()):
        return jsonify({"error": _("The text must be a string.")}), 400
    return jsonify(composer.incident_estimate(incident, texts["en"], texts["fr"]))


# ---------------------------------------------------------------- outbox

@bp.get("/outbox")
@login_required
def outbox():
    messages = dashboard.outbox_messages(limit=100)
    messages = sorted(messages, key=lambda m: (m.created_at, m.id), reverse=True)
    return render_template("console/outbox.html", messages=messages)


@bp.post("/outbox/<int:message_id>/reply")
@role_required("coordinator")
def outbox_reply(message_id: int):
    """Play the traveller: feed a reply to an outbox SMS through the real inbound path."""
    from notify.models import OutboxMessage

    from .webhooks import process_inbound_sms

    message = db_session().get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.channel != "sms":
        flash(_("Only text messages can be answered."), "error")
        return redirect(url_for("console.outbox"))
    form = ReplyForm()
    if not form.validate_on_submit():
        flash(_("Type the reply text first."), "error")
        return redirect(url_for("console.outbox", _anchor=f"message-{message.id}"))
    to_number = current_app.config.get("TWILIO_FROM") or "outbox"
    answer = process_inbound_sms(message.to, to_number, form.body.data.strip(),
                                 f"console-{uuid.uuid4().hex}")
    flash(_("Reply received from %(number)s. Answer sent back: %(answer)s",
            number=message.to, answer=answer or "—"), "success")
    return redirect(url_for("console.outbox"))


# ---------------------------------------------------------------- base map

COUNTRY_TOLERANCE_DEG = 0.1  # ~10 km: enough for a base layer, ~600 kB instead of ~10 MB


@lru_cache(maxsize=1)
def _countries_payload() -> tuple[bytes, bytes]:
    """The country outlines, simplified and rounded, as (json, gzipped json); built once."""
    import numpy as np
    import shapely
    from shapely.geometry import mapping

    from geo import countries

    features = []
    for code, _name in countries.all_countries("en"):
        country = countries.get_country(code)
        geom = shapely.simplify(country.geometry, COUNTRY_TOLERANCE_DEG, preserve_topology=True)
        geom = shapely.transform(geom, lambda xy: np.round(xy, 2))
        features.append({"type": "Feature",
                         "properties": {"code": code, "name_en": country.name_en,
                                        "name_fr": country.name_fr},
                         "geometry": mapping(geom)})
    raw = json.dumps({"type": "FeatureCollection", "features": features},
                     separators=(",", ":")).encode()
    return raw, gzip.compress(raw, 6)


@bp.get("/countries.geojson")
def countries_geojson():
    """Country outlines as the map's base layer, so maps work with no tile server."""
    raw, packed = _countries_payload()
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(packed if gzipped else raw, mimetype="application/geo+json")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


from . import incident_views  # noqa: E402,F401  (points.json and exports on this blueprint)
