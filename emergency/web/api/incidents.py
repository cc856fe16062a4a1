"""Incidents over the API: create (one zone or severity rings), list, read, who is affected,
exports, responses, closing."""
from __future__ import annotations

from flask import Response, abort, g, jsonify, request
from sqlalchemy import select

from emergency.core import audit
from emergency.core.auth import api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import Incident, SafetyResponse
from emergency.core.timeutil import iso_utc
from emergency.services import exports
from emergency.services import incidents as incident_service
from emergency.services import zones as zones_service
from emergency.services.dashboard import incident_stats
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body
from geo.errors import GeoError


def _incident_json(incident: Incident, with_stats: bool = True) -> dict:
    body = {
        "id": incident.id, "title": incident.title, "status": incident.status,
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
        incident = incident_service.create_incident(data.get("title"), zone, start, end)
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


@bp.get("/incidents/<int:incident_id>/responses")
@api_role_required("viewer")
def incident_responses(incident_id: int):
    incident = incident_or_404(incident_id)
    rows = db_session().scalars(
        select(SafetyResponse).where(SafetyResponse.incident_id == incident.id).order_by(SafetyResponse.id)
    )
    return jsonify([{"id": r.id, "traveller_id": r.traveller_id, "status": r.status, "channel": r.channel,
                     "message": r.message, "received_at": iso_utc(r.received_at),
                     "reported_by": r.reported_by, "reporter_name": r.reporter_name,
                     "source_message": r.source_message, "late": r.late} for r in rows])
