"""Incidents over the API: create (one zone or severity rings), list, read, who is affected,
exports, responses (read, and an officer's answer for a traveller or a companion), the
recipients' households with each person's status and its provenance, closing."""
from __future__ import annotations

from flask import Response, abort, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from emergency.core import audit
from emergency.core.auth import acting_user, api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.inputs import whole_number
from emergency.core.models import Incident, SafetyResponse
from emergency.core.timeutil import iso_utc
from emergency.services import exports, households
from emergency.services import incidents as incident_service
from emergency.services import zones as zones_service
from emergency.services.cases import CaseError
from emergency.services.dashboard import incident_stats
from emergency.services.phone_answers import CONSOLE, record_officer_answer
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body
from geo.errors import GeoError
from registry.models import Traveller

RECIPIENTS_PER_PAGE = 100
RECIPIENTS_MAX_PER_PAGE = 500


def _incident_json(incident: Incident, with_stats: bool = True) -> dict:
    body = {
        "id": incident.id, "title": incident.title, "title_en": incident.title_en, "title_fr": incident.title_fr,
        "status": incident.status,
        "starts_at": iso_utc(incident.starts_at), "ends_at": iso_utc(incident.ends_at),
        "zone": incident.zone_geojson, "zone_source": incident.zone_source, "zone_note": incident.zone_note,
        "alerts": [a.id for a in incident.alerts],
        "zones": [_zone_json(z) for z in incident.zones],
    }
    if with_stats:
        stats = incident_stats(incident)
        body["affected_count"] = stats["affected"]
        body["stats"] = stats
    return body


def _zone_json(zone) -> dict:
    """One severity zone of an incident."""
    return {"id": zone.id, "severity": zone.severity, "label_en": zone.label_en, "label_fr": zone.label_fr,
            "message_en": zone.message_en, "message_fr": zone.message_fr, "zone": zone.zone_geojson,
            "zone_source": zone.zone_source, "zone_note": zone.zone_note}


@bp.post("/incidents")
@api_role_required("coordinator")
def create_incident():
    """JSON with `zone` (one zone) or `zones` (severity rings); or multipart/form-data with
    the zone as a file (`zone_file`: GeoJSON, KML, KMZ, zipped Shapefile, GeoPackage, WKT)."""
    upload = request.mimetype == "multipart/form-data"
    data = request.form if upload else json_body()
    try:
        if upload:
            zone = incident_service.specs_from_form("upload", request.form, request.files)
        else:
            zone = zones_service.specs_from_json(data, incident_service.zone_from_json)
        start, end = incident_service.parse_window(data.get("starts_at"), data.get("ends_at"))
        incident = incident_service.create_incident(data.get("title_en") or data.get("title"), zone, start, end,
                                                    title_fr=data.get("title_fr"))
    except (GeoError, incident_service.WindowError, incident_service.ZoneSpecError) as err:
        field = getattr(err, "field", None) or ("zone_file" if upload else "zone")
        if getattr(err, "zone_index", None) is not None:
            field = f"zones[{err.zone_index}].{field}"
        return error_response(422, "invalid", translate(err), fields={field: translate(err)})
    return jsonify(_incident_json(incident)), 201


@bp.get("/incidents")
@api_role_required("viewer")
def list_incidents():
    return jsonify([_incident_json(i, with_stats=False) for i in incident_service.list_incidents()])


def incident_or_404(incident_id: int) -> Incident:
    incident = db_session().get(Incident, incident_id)
    if incident is None:
        abort(404)
    return incident


@bp.get("/incidents/<int:incident_id>")
@api_role_required("viewer")
def get_incident(incident_id: int):
    return jsonify(_incident_json(incident_or_404(incident_id)))


@bp.get("/incidents/<int:incident_id>/affected")
@api_role_required("coordinator")
def incident_affected(incident_id: int):
    incident = incident_or_404(incident_id)
    affected = incident_service.affected_for(incident)
    rows = incident_service.describe_rows(affected, request.accept_languages.best_match(["en", "fr"]) or "en")
    audit.record("incident.affected_listed", "incident", incident.id, count=len(rows))
    db_session().commit()
    return jsonify({"count": len(rows), "travellers": rows})


@bp.get("/incidents/<int:incident_id>/export")
@api_role_required("viewer")
def export_incident(incident_id: int):
    """The affected set as csv, geojson or gpkg; contact fields need the coordinator role."""
    incident = incident_or_404(incident_id)
    lang = request.accept_languages.best_match(["en", "fr"]) or "en"
    try:
        file = exports.export(incident, request.args.get("format", "csv"), request.args.getlist("fields"),
                              g.api_user, lang)
    except exports.ExportError as err:
        return error_response(err.status, "forbidden" if err.status == 403 else "invalid", translate(err))
    response = Response(file.content, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Row-Count"] = str(file.rows)
    return response


@bp.post("/incidents/<int:incident_id>/close")
@api_role_required("coordinator")
def close_incident(incident_id: int):
    return jsonify(_incident_json(incident_service.close_incident(incident_or_404(incident_id))))


def response_json(r: SafetyResponse) -> dict:
    """One answer with its provenance: who gave it, about whom (`companion_id`, null: the
    traveller), by which channel, from which message."""
    companion = r.companion
    return {"id": r.id, "traveller_id": r.traveller_id, "companion_id": r.companion_id,
            "companion_name": f"{companion.given_name} {companion.family_name}" if companion else None,
            "status": r.status, "channel": r.channel, "message": r.message, "received_at": iso_utc(r.received_at),
            "reported_by": r.reported_by, "reporter_name": r.reporter_name,
            "source_message": r.source_message, "late": r.late}


def person_json(person: households.Person) -> dict:
    """Someone in a household: their status, where it comes from (`basis`: own, for, covered,
    null), the answer it comes from, and every answer given about them."""
    answer = person.answer
    return {"kind": person.kind, "traveller_id": person.traveller_id, "companion_id": person.companion_id,
            "name": person.name, "status": person.status, "basis": person.basis,
            "covered_by_someone_else": person.covered_by_someone_else,
            "answer": response_json(answer) if answer is not None else None,
            "answers": [response_json(r) for r in person.history]}


@bp.get("/incidents/<int:incident_id>/responses")
@api_role_required("viewer")
def incident_responses(incident_id: int):
    incident = incident_or_404(incident_id)
    rows = db_session().scalars(
        select(SafetyResponse).where(SafetyResponse.incident_id == incident.id).order_by(SafetyResponse.id)
    )
    return jsonify([response_json(r) for r in rows])


@bp.post("/incidents/<int:incident_id>/responses")
@api_role_required("coordinator")
def record_incident_response(incident_id: int):
    """An answer an officer took, for a traveller or a companion on their registration: 201
    with the answer; 200 with `recorded: false` when it is already the latest given."""
    incident = incident_or_404(incident_id)
    data = json_body()
    traveller_id = data.get("traveller_id")
    valid_id = isinstance(traveller_id, int) and not isinstance(traveller_id, bool)
    if not valid_id or db_session().get(Traveller, traveller_id) is None:
        message = _("No traveller has this number.")
        return error_response(422, "invalid", message, fields={"traveller_id": message})
    message = data.get("message")
    try:
        response, added = record_officer_answer(
            incident.id, traveller_id, data.get("status"), message if isinstance(message, str) else None,
            acting_user(), companion_id=data.get("companion_id"), channel=CONSOLE)
    except CaseError as err:
        db_session().rollback()
        return error_response(422, "invalid", translate(err), fields={err.field or "body": translate(err)})
    if not added:
        return jsonify({"recorded": False})
    return jsonify({"recorded": True, **response_json(response)}), 201


@bp.get("/incidents/<int:incident_id>/recipients")
@api_role_required("viewer")
def incident_recipients(incident_id: int):
    """The incident's recipients, a page at a time (by traveller id), each with their
    household: everyone's status and its provenance."""
    incident = incident_or_404(incident_id)
    page = whole_number(request.args.get("page", "1"), minimum=1)
    per_page = whole_number(request.args.get("per_page", str(RECIPIENTS_PER_PAGE)), minimum=1,
                            maximum=RECIPIENTS_MAX_PER_PAGE)
    if page is None or per_page is None:
        message = _("page must be 1 or more and per_page between 1 and %(max)d.", max=RECIPIENTS_MAX_PER_PAGE)
        return error_response(400, "invalid_page", message)
    ids, total = households.recipient_page(incident.id, page, per_page)
    people = households.households(incident.id, ids)
    return jsonify({"page": page, "per_page": per_page, "total": total,
                    "recipients": [{"traveller_id": tid, "household": [person_json(p) for p in people.get(tid, [])]}
                                   for tid in ids]})
