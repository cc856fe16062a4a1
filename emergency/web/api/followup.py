"""An incident's follow-up over the API: the plan, its rounds and the next round (viewer);
changing the plan, pausing, resuming and sending the next round now (coordinator). The
rules are `services.followup`'s, as in the console."""
from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from emergency.core.auth import api_role_required
from emergency.core.i18n_errors import translate
from emergency.core.timeutil import iso_utc
from emergency.services import followup
from emergency.web.api.alerts import alert_json
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body
from emergency.web.api.incidents import incident_or_404


def _round_json(row: dict) -> dict:
    alert = row["alert"]
    return {"alert_id": alert.id, "kind": row["kind"], "round": row["number"], "status": row["status"],
            "sent_at": iso_utc(row["sent_at"]), "size": row["size"], "lead_channel": row["lead"],
            "channels": alert.channels, "delivered": row["delivered"], "answers_since": row["answers"]}


def followup_json(incident) -> dict:
    view = followup.overview(incident)
    plan = view["plan"]
    upcoming = view["next"]
    return {
        "incident_id": incident.id,
        "plan": {"delay_minutes": plan.delay_minutes, "max_rounds": plan.max_rounds,
                 "tell_contacts": plan.tell_contacts, "paused": plan.paused, "default": not plan.saved,
                 "updated_at": iso_utc(plan.updated_at),
                 "updated_by": plan.updated_by.email if plan.updated_by else None},
        "state": view["state"],
        "safety_check_id": view["check"].id if view["check"] is not None else None,
        "rounds": [_round_json(r) for r in view["rounds"]],
        "next": None if upcoming is None else {
            "kind": upcoming["kind"], "round": upcoming["number"], "due_at": iso_utc(upcoming["due_at"]),
            "size": upcoming["size"], "lead_channel": upcoming["lead"]},
        "waiting_alert_id": view["waiting"].id if view["waiting"] is not None else None,
        "contacts": view["contacts"],
    }


def _refused(err: followup.FollowupError):
    message = translate(err)
    if err.field:
        return error_response(422, "invalid", message, fields={err.field: message})
    return error_response(409, "refused", message)


@bp.get("/incidents/<int:incident_id>/followup")
@api_role_required("viewer")
def get_followup(incident_id: int):
    return jsonify(followup_json(incident_or_404(incident_id)))


@bp.patch("/incidents/<int:incident_id>/followup")
@api_role_required("coordinator")
def patch_followup(incident_id: int):
    """Change any of delay_minutes, max_rounds, tell_contacts and paused, all or nothing."""
    incident = incident_or_404(incident_id)
    data = json_body()
    unknown = sorted(set(data) - set(followup.PLAN_FIELDS))
    if unknown:
        message = _("Unknown field: %(names)s.", names=", ".join(unknown))
        return error_response(422, "invalid", message, fields={name: message for name in unknown})
    try:
        followup.update_plan(incident.id, data)
    except followup.FollowupError as err:
        return _refused(err)
    return jsonify(followup_json(incident))


@bp.post("/incidents/<int:incident_id>/followup/pause")
@api_role_required("coordinator")
def pause_followup(incident_id: int):
    incident = incident_or_404(incident_id)
    followup.pause(incident.id)
    return jsonify(followup_json(incident))


@bp.post("/incidents/<int:incident_id>/followup/resume")
@api_role_required("coordinator")
def resume_followup(incident_id: int):
    incident = incident_or_404(incident_id)
    followup.resume(incident.id)
    return jsonify(followup_json(incident))


@bp.post("/incidents/<int:incident_id>/followup/rounds")
@api_role_required("coordinator")
def send_followup_round(incident_id: int):
    """The next round, now: 202 when it is being sent, 201 when it waits for approval."""
    incident = incident_or_404(incident_id)
    try:
        alert = followup.send_round_now(incident.id)
    except followup.FollowupError as err:
        return _refused(err)
    return jsonify(alert_json(alert)), 201 if alert.status == "draft" else 202
