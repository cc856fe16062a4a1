"""Incidents in the console: the list, a new incident with its live preview, the incident
page and its live figures, closing.

Views are thin: they collect input with the forms in `forms`, call the services, which
validate, commit and audit, and show errors in the reader's language.
"""
from __future__ import annotations

from datetime import datetime

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from common.clock import utcnow
from emergency.core.auth import acting_user, role_required
from emergency.core.database import db_session
from emergency.core.i18n import current_language
from emergency.core.i18n_errors import translate
from emergency.core.models import Incident
from emergency.services import alerts as alert_service
from emergency.services import cap_in, checkin_reports, dashboard, followup, incidents
from emergency.services.cases import CaseError
from emergency.services.phone_answers import CONSOLE, record_officer_answer
from emergency.web.console.blueprint import bp, get_incident_or_404
from emergency.web.console.case_forms import action_form, companion_choice, person_choices
from emergency.web.console.forms import AlertForm, CapUploadForm, FollowupPlanForm, IncidentForm, PostForm
from emergency.web.console.incident_map import page_parts
from geo.errors import GeoError
from registry.models import Traveller

PREVIEW_LIMIT = 50  # rows shown while drawing a zone
MAP_LIMIT = 500  # travellers pinned on an incident's map
RECIPIENT_LIMIT = 200


@bp.get("/")
@login_required
def index():
    rows = []
    for incident in incidents.list_incidents():
        rows.append({"incident": incident, "stats": dashboard.incident_stats(incident)})
    return render_template("console/index.html", rows=rows)


# The names parse_number gives (the API's field names) as the labels the console shows.
FIELD_LABELS = {"lat": _l("Latitude"), "lon": _l("Longitude"), "radius_km": _l("Radius (km)"),
                "corridor_km": _l("Distance from the track (km)")}
# Errors whose message carries a parser's own words (GEOS, GDAL, SQLite, JSON, zip): the
# console says what is wrong in its own words instead; the API and CLI keep the detail.
PARSER_ERRORS = {
    "bad_wkt": _l("The text cannot be read as WKT. Check that it is a POLYGON or MULTIPOLYGON with "
                  "numbers separated by spaces, and points by commas."),
    "not_json": _l("The zone cannot be read as GeoJSON. Check that the file or text is complete."),
    "bad_kml": _l("The KML file cannot be read. Export the zone again from your mapping tool."),
    "bad_file": _l("The file cannot be read as a zone. Upload GeoJSON, KML, a zipped shapefile or a GeoPackage."),
    "bad_zip": _l("The zip file cannot be read. Zip the shapefile's files again and upload the new file."),
}


def zone_error_message(err) -> str:
    """A zone error in the reader's words: field labels, not field names; no parser output."""
    code = getattr(err, "code", None)
    if code in PARSER_ERRORS:
        return str(PARSER_ERRORS[code])
    if code == "not_a_number":
        field = (getattr(err, "params", None) or {}).get("field")
        return _("%(field)s must be a number.", field=FIELD_LABELS.get(field, field))
    return translate(err)


DAY_FIRST = ("%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%d/%m/%Y")  # 02/12/2026 07:30, as French readers write it
YEAR_FIRST = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def form_datetime(text: str | None) -> str | None:
    """A date-time typed in the console (day first, 02/12/2026 07:30, or year first,
    2026-12-02 07:30) as ISO 8601 for the services; other text is passed on unchanged so
    the services' own check refuses it in the reader's language."""
    text = " ".join((text or "").split())
    if not text:
        return None
    for pattern in (*DAY_FIRST, *YEAR_FIRST):
        try:
            return datetime.strptime(text, pattern).strftime("%Y-%m-%dT%H:%M")
        except ValueError:
            continue
    return text


def shown_datetime(value: datetime) -> str:
    """How the form shows a date-time: day first in French, year first in English."""
    return value.strftime("%d/%m/%Y %H:%M" if current_language() == "fr" else "%Y-%m-%d %H:%M")


def _zone_and_window(form_data, files):
    """Run the services' checks; returns (zone specs, start, end, errors-by-group)."""
    errors: dict[str, str] = {}
    zone = start = end = None
    kind = form_data.get("zone_kind") or "draw"
    try:  # the main zone and any severity rings
        zone = incidents.specs_from_form(kind, form_data, files)
    except (GeoError, incidents.ZoneSpecError) as err:
        errors["zone"] = zone_error_message(err)
    try:  # an empty start means "now" (the service's default)
        start, end = incidents.parse_window(form_datetime(form_data.get("starts_at")),
                                            form_datetime(form_data.get("ends_at")))
    except incidents.WindowError as err:
        errors[err.field if err.field in ("starts_at", "ends_at") else "window"] = translate(err)
    return zone, start, end, errors


@bp.route("/incidents/new", methods=["GET", "POST"])
@role_required("coordinator")
def new_incident():
    form = IncidentForm()
    errors: dict[str, str] = {}
    if request.method == "GET" and not form.starts_at.data:
        form.starts_at.data = shown_datetime(utcnow())
    if request.method == "POST":
        form_ok = form.validate()
        zone, start, end, errors = _zone_and_window(request.form, request.files)
        if form_ok and not errors:
            try:
                incident = incidents.create_incident(form.title.data.strip(), zone, start, end,
                                                     title_fr=form.title_fr.data)
            except incidents.WindowError as err:
                form.title.errors = [*form.title.errors, translate(err)]
            else:
                flash(_("Incident created."), "success")
                return redirect(url_for("console.incident", incident_id=incident.id))
        flash(_("The incident was not created. Please correct the errors below."), "error")
    status = 400 if request.method == "POST" else 200
    return render_template("console/incident_new.html", form=form, errors=errors, cap_form=CapUploadForm()), status


@bp.post("/incidents/from-cap")
@role_required("coordinator")
def incident_from_cap():
    """A CAP message uploaded by a coordinator: opens (or updates) a draft incident, or the
    new-incident page shows every reason it was refused."""
    cap_form = CapUploadForm()
    reasons: list[dict] = []
    if cap_form.validate_on_submit():
        upload = cap_form.cap_file.data
        data = upload.read(cap_in.max_bytes() + 1) if upload else b""
        if not data:
            reasons = [{"path": "", "message": _("Choose a CAP file to upload.")}]
        else:
            result = cap_in.ingest(data, "upload")
            if not result.refused:
                flash(_cap_flash(result.status), "success")
                for note in (n for o in result.outcomes for n in o.notes if n in cap_in.NOTES):
                    flash(_(cap_in.NOTES[note]), "info")
                return redirect(url_for("console.incident", incident_id=result.incident_id))
            reasons = [{"path": r.path, "message": translate(r)} for r in result.reasons]
    flash(_("The CAP message was refused."), "error")
    form = IncidentForm(formdata=None)
    form.starts_at.data = shown_datetime(utcnow())
    return render_template("console/incident_new.html", form=form, errors={}, cap_form=cap_form,
                           cap_reasons=reasons), 400


def _cap_flash(status: str) -> str:
    if status == "opened":
        return _("The CAP message opened this draft incident.")
    if status == "updated":
        return _("The CAP message updated this incident.")
    if status == "cancelled":
        return _("The CAP message cancelled this incident; it is closed.")
    if status == "duplicate":
        return _("This CAP message was already received; here is its incident.")
    return _("The CAP message was recorded on this incident.")


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


@bp.get("/incidents/<int:incident_id>")
@login_required
def incident(incident_id: int):
    incident = get_incident_or_404(incident_id)
    return render_template("console/incident.html", **incident_view_context(incident))


@bp.get("/incidents/<int:incident_id>/stats.json")
@login_required
def incident_stats(incident_id: int):
    incident = get_incident_or_404(incident_id)
    response = jsonify(dashboard.incident_stats(incident))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/incidents/<int:incident_id>/close")
@role_required("coordinator")
def close_incident(incident_id: int):
    incident = get_incident_or_404(incident_id)
    if PostForm().validate_on_submit():
        if incident.status == "closed":
            flash(_("This incident is already closed."), "info")
        else:
            incidents.close_incident(incident)
            flash(_("Incident closed."), "success")
    return redirect(url_for("console.incident", incident_id=incident.id))


@bp.post("/incidents/<int:incident_id>/travellers/<int:traveller_id>/answer")
@role_required("coordinator")
def record_answer(incident_id: int, traveller_id: int):
    """An officer records an answer for a traveller on this incident, or for a companion on
    their registration (a "need help" opens the traveller's case). Anyone else is refused."""
    incident = get_incident_or_404(incident_id)
    traveller = db_session().get(Traveller, traveller_id)
    if traveller is None:
        abort(404)
    form = action_form("answer")
    form.person.choices = person_choices(traveller)
    back = redirect(url_for("console.incident", incident_id=incident.id, _anchor="recipients"))
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors if e)
              or _("Please fill in the form."), "error")
        return back
    try:
        _response, added = record_officer_answer(incident.id, traveller.id, form.status.data, form.message.data,
                                                 acting_user(), companion_id=companion_choice(form.person.data),
                                                 channel=CONSOLE)
    except CaseError as err:
        db_session().rollback()
        flash(translate(err), "error")
        return back
    flash(_("Answer recorded.") if added else _("Nothing changed."), "success" if added else "info")
    return back


def incident_view_context(incident: Incident) -> dict:
    """The incident page's context; shared by the GET view and a failed compose."""
    stats = dashboard.incident_stats(incident)
    recipients = dashboard.recipient_rows(incident, limit=RECIPIENT_LIMIT)
    parts = page_parts(incident, limit=MAP_LIMIT, lang=current_language())
    alerts = [{"alert": a, "needs_approval": alert_service.needs_approval(a)} for a in incident.alerts]
    texts = {**alert_service.default_texts(incident), **(cap_in.draft_texts(incident) or {})}
    return {
        "incident": incident, "stats": stats, "recipients": recipients, **parts, "alerts": alerts,
        "form": AlertForm(formdata=None, data={**texts, "kind": "safety_check"}),
        "cap_messages": incident.cap_messages, "cap_notes": cap_in.NOTES,
        "kind_texts": alert_service.all_default_texts(incident),
        "messages_to_read": dashboard.messages_to_read(incident),
        "checkin_reports": checkin_reports.report_rows(incident.id),
        **followup_context(incident),
    }


def followup_context(incident: Incident) -> dict:
    """The follow-up panel: the plan, its rounds and next round, and the plan's form."""
    view = followup.overview(incident)
    plan = view["plan"]
    form = FollowupPlanForm(formdata=None, data={"delay_minutes": str(plan.delay_minutes),
                                                 "max_rounds": str(plan.max_rounds),
                                                 "tell_contacts": plan.tell_contacts})
    return {"followup": view, "followup_form": form}
