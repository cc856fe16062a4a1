"""The JSON API under /api/v1, for coordinators' tools and trigger systems.

Bearer tokens only (no cookies, so no CSRF); errors are JSON with a stable `error` code
and a `message` in the language of Accept-Language. Documented in openapi.yaml.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from geo.errors import GeoError
from registry.errors import ValidationFailed
from registry.models import Traveller
from registry.service import register_traveller

from . import alerts as alert_service
from . import audit, incidents as incident_service
from .auth import api_role_required
from .dashboard import incident_stats
from .database import db_session
from .i18n_errors import translate
from .models import Alert, Incident, SafetyResponse
from .timeutil import as_utc

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPENAPI = Path(__file__).resolve().parent / "openapi.yaml"


def _error(status: int, code: str, message: str, **extra):
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(_error(400, "invalid_json", _("The request body must be a JSON object.")))
    return data


def _iso(value) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


@bp.errorhandler(404)
def _not_found(_e):
    return _error(404, "not_found", _("Not found."))


@bp.errorhandler(413)
def _too_large(_e):
    return _error(413, "too_large", _("The request is too large."))


@bp.get("/openapi.json")
def openapi():
    return jsonify(yaml.safe_load(OPENAPI.read_text(encoding="utf-8")))


# --- travellers -------------------------------------------------------------------------

def _traveller_json(t: Traveller) -> dict:
    from .traveller_payload import traveller_json  # issue 3A: companions, contacts, DOB...

    return traveller_json(t)


@bp.post("/travellers")
@api_role_required("coordinator")
def create_traveller():
    data = _json_body()
    try:
        from .traveller_payload import traveller_input  # issue 3A: same fields as the form

        traveller = register_traveller(db_session(), traveller_input(data), source="api")
    except ValidationFailed as failed:
        db_session().rollback()
        return _error(422, "invalid", _("Some fields are not valid."),
                      fields={e.field: translate(e) for e in failed.errors})
    db_session().flush()
    audit.record("traveller.registered", "traveller", traveller.id)
    db_session().commit()
    return jsonify(_traveller_json(traveller)), 201


@bp.get("/travellers/<int:traveller_id>")
@api_role_required("coordinator")
def get_traveller(traveller_id: int):
    traveller = db_session().get(Traveller, traveller_id)
    if traveller is None:
        abort(404)
    audit.record("traveller.viewed", "traveller", traveller.id)
    db_session().commit()
    return jsonify(_traveller_json(traveller))


# --- incidents --------------------------------------------------------------------------

def _incident_json(incident: Incident, with_stats: bool = True) -> dict:
    body = {
        "id": incident.id, "title": incident.title, "status": incident.status,
        "starts_at": _iso(incident.starts_at), "ends_at": _iso(incident.ends_at),
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
    """One severity zone of an incident (issue 4)."""
    return {"id": zone.id, "severity": zone.severity, "label_en": zone.label_en, "label_fr": zone.label_fr,
            "message_en": zone.message_en, "message_fr": zone.message_fr, "zone": zone.zone_geojson,
            "zone_source": zone.zone_source, "zone_note": zone.zone_note}


@bp.post("/incidents")
@api_role_required("coordinator")
def create_incident():
    data = _json_body()
    try:  # `zone` (one zone) or `zones` (severity rings, issue 4)
        zone = incident_service.zones_service.specs_from_json(data, incident_service.zone_from_json)
        start, end = incident_service.parse_window(data.get("starts_at"), data.get("ends_at"))
        incident = incident_service.create_incident(data.get("title"), zone, start, end)
    except (GeoError, incident_service.WindowError, incident_service.ZoneSpecError) as err:
        field = getattr(err, "field", None) or "zone"
        if getattr(err, "zone_index", None) is not None:
            field = f"zones[{err.zone_index}].{field}"
        return _error(422, "invalid", translate(err), fields={field: translate(err)})
    return jsonify(_incident_json(incident)), 201


@bp.get("/incidents")
@api_role_required("viewer")
def list_incidents():
    return jsonify([_incident_json(i, with_stats=False) for i in incident_service.list_incidents()])


def _incident_or_404(incident_id: int) -> Incident:
    incident = db_session().get(Incident, incident_id)
    if incident is None:
        abort(404)
    return incident


@bp.get("/incidents/<int:incident_id>")
@api_role_required("viewer")
def get_incident(incident_id: int):
    return jsonify(_incident_json(_incident_or_404(incident_id)))


@bp.get("/incidents/<int:incident_id>/affected")
@api_role_required("coordinator")
def incident_affected(incident_id: int):
    incident = _incident_or_404(incident_id)
    affected = incident_service.affected_for(incident)
    rows = incident_service.describe_rows(affected, request.accept_languages.best_match(["en", "fr"]) or "en")
    audit.record("incident.affected_listed", "incident", incident.id, count=len(rows))
    db_session().commit()
    return jsonify({"count": len(rows), "travellers": rows})


@bp.get("/incidents/<int:incident_id>/export")
@api_role_required("viewer")
def export_incident(incident_id: int):
    """The affected set as csv, geojson or gpkg; contact fields need the coordinator role."""
    from flask import Response, g

    from . import exports

    incident = _incident_or_404(incident_id)
    lang = request.accept_languages.best_match(["en", "fr"]) or "en"
    try:
        file = exports.export(incident, request.args.get("format", "csv"), request.args.getlist("fields"),
                              g.api_user, lang)
    except exports.ExportError as err:
        return _error(err.status, "forbidden" if err.status == 403 else "invalid", translate(err))
    response = Response(file.content, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Row-Count"] = str(file.rows)
    return response


@bp.post("/incidents/<int:incident_id>/close")
@api_role_required("coordinator")
def close_incident(incident_id: int):
    return jsonify(_incident_json(incident_service.close_incident(_incident_or_404(incident_id))))


@bp.get("/incidents/<int:incident_id>/responses")
@api_role_required("viewer")
def incident_responses(incident_id: int):
    incident = _incident_or_404(incident_id)
    rows = db_session().scalars(
        select(SafetyResponse).where(SafetyResponse.incident_id == incident.id).order_by(SafetyResponse.id)
    )
    return jsonify([{"traveller_id": r.traveller_id, "status": r.status, "channel": r.channel,
                     "message": r.message, "received_at": _iso(r.received_at)} for r in rows])


# --- alerts -----------------------------------------------------------------------------

def _alert_json(alert: Alert) -> dict:
    from notify.delivery import campaign_stats

    return {
        "id": alert.id, "incident_id": alert.incident_id, "kind": alert.kind, "status": alert.status,
        "channels": alert.channels,
        "subject_en": alert.subject_en, "subject_fr": alert.subject_fr, "body_en": alert.body_en,
        "body_fr": alert.body_fr, "sms_en": alert.sms_en, "sms_fr": alert.sms_fr,
        "recipient_count": alert.recipient_count, "needs_approval": alert_service.needs_approval(alert),
        "sent_at": _iso(alert.sent_at), "deliveries": campaign_stats(db_session(), alert.id),
    }


def _alert_error(err: alert_service.AlertError, status: int = 409):
    fields = {err.field: translate(err)} if err.field else None
    return _error(status, "refused" if status == 409 else "invalid", translate(err),
                  **({"fields": fields} if fields else {}))


@bp.post("/incidents/<int:incident_id>/alerts")
@api_role_required("coordinator")
def compose_alert(incident_id: int):
    incident = _incident_or_404(incident_id)
    data = _json_body()
    kind = data.get("kind", "safety_check")
    if kind not in alert_service.KINDS:
        return _error(422, "invalid", _("Kind must be one of safety_check, information, all_clear."))
    texts = alert_service.default_texts(incident, kind)
    texts.update({k: v for k, v in data.items() if k in alert_service.TEXT_FIELDS and isinstance(v, str)})
    channels = data.get("channels", ["email", "sms"])
    if not isinstance(channels, list) or any(c not in alert_service.CHANNELS for c in channels):
        return _error(422, "invalid", _("Channels must be a list of \"email\" and \"sms\"."))
    try:
        alert = alert_service.compose_alert(incident, texts, channels, kind=kind)
    except alert_service.AlertError as err:
        return _alert_error(err, 422 if err.field else 409)
    return jsonify(_alert_json(alert)), 201


def _alert_or_404(alert_id: int) -> Alert:
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.get("/alerts/<int:alert_id>")
@api_role_required("viewer")
def get_alert(alert_id: int):
    return jsonify(_alert_json(_alert_or_404(alert_id)))


@bp.post("/alerts/<int:alert_id>/approve")
@api_role_required("approver")
def approve_alert(alert_id: int):
    try:
        alert = alert_service.approve_alert(_alert_or_404(alert_id))
    except alert_service.AlertError as err:
        return _alert_error(err)
    return jsonify(_alert_json(alert))


@bp.post("/alerts/<int:alert_id>/send")
@api_role_required("coordinator")
def send_alert(alert_id: int):
    try:
        alert = alert_service.send_alert(_alert_or_404(alert_id))
    except alert_service.AlertError as err:
        return _alert_error(err)
    return jsonify(_alert_json(alert)), 202
