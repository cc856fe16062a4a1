"""Alerts over the API: compose (defaults from the incident), list an incident's alerts (its
follow-up rounds among them), read with delivery figures, approve, send."""
from __future__ import annotations

from flask import abort, jsonify
from flask_babel import gettext as _

from emergency.core.auth import api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import Alert
from emergency.core.timeutil import iso_utc
from emergency.services import alerts as alert_service
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body
from emergency.web.api.incidents import incident_or_404
from notify.delivery import campaign_stats


def alert_json(alert: Alert) -> dict:
    return {
        "id": alert.id, "incident_id": alert.incident_id, "kind": alert.kind, "status": alert.status,
        "channels": alert.channels,
        "subject_en": alert.subject_en, "subject_fr": alert.subject_fr, "body_en": alert.body_en,
        "body_fr": alert.body_fr, "sms_en": alert.sms_en, "sms_fr": alert.sms_fr,
        "followup_of": alert.followup_of, "round": alert.round,
        "recipient_count": alert.recipient_count, "needs_approval": alert_service.needs_approval(alert),
        "sent_at": iso_utc(alert.sent_at), "deliveries": campaign_stats(db_session(), alert.id),
    }


def _alert_error(err: alert_service.AlertError, status: int = 409):
    fields = {err.field: translate(err)} if err.field else None
    return error_response(status, "refused" if status == 409 else "invalid", translate(err),
                  **({"fields": fields} if fields else {}))


@bp.post("/incidents/<int:incident_id>/alerts")
@api_role_required("coordinator")
def compose_alert(incident_id: int):
    incident = incident_or_404(incident_id)
    data = json_body()
    kind = data.get("kind", "safety_check")
    if kind not in alert_service.KINDS:
        return error_response(422, "invalid", _("Kind must be one of safety_check, information, all_clear."))
    texts = alert_service.default_texts(incident, kind)
    texts.update({k: v for k, v in data.items() if k in alert_service.TEXT_FIELDS and isinstance(v, str)})
    channels = data.get("channels", ["email", "sms"])
    if not isinstance(channels, list) or any(c not in alert_service.CHANNELS for c in channels):
        return error_response(422, "invalid", _("Channels must be a list of \"email\" and \"sms\"."))
    try:
        alert = alert_service.compose_alert(incident, texts, channels, kind=kind)
    except alert_service.AlertError as err:
        return _alert_error(err, 422 if err.field else 409)
    return jsonify(alert_json(alert)), 201


@bp.get("/incidents/<int:incident_id>/alerts")
@api_role_required("viewer")
def list_alerts(incident_id: int):
    """The incident's alerts, oldest first: its safety checks and other messages, and the
    follow-up rounds (`followup_of`, `round`)."""
    return jsonify([alert_json(a) for a in incident_or_404(incident_id).alerts])


def _alert_or_404(alert_id: int) -> Alert:
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.get("/alerts/<int:alert_id>")
@api_role_required("viewer")
def get_alert(alert_id: int):
    return jsonify(alert_json(_alert_or_404(alert_id)))


@bp.post("/alerts/<int:alert_id>/approve")
@api_role_required("approver")
def approve_alert(alert_id: int):
    try:
        alert = alert_service.approve_alert(_alert_or_404(alert_id))
    except alert_service.AlertError as err:
        return _alert_error(err)
    return jsonify(alert_json(alert))


@bp.post("/alerts/<int:alert_id>/send")
@api_role_required("coordinator")
def send_alert(alert_id: int):
    try:
        alert = alert_service.send_alert(_alert_or_404(alert_id))
    except alert_service.AlertError as err:
        return _alert_error(err)
    return jsonify(alert_json(alert)), 202
