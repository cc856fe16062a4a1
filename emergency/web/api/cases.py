"""Cases over the API: the queue (viewer), one case with its traveller and history (viewer;
logged as a view of the traveller's record; emails and phone numbers only for the roles that
may export them), changes of status, officer and priority in one PATCH, and notes
(coordinator). The rules are `services.cases`', as in the console."""
from __future__ import annotations

from flask import abort, jsonify, request
from flask_babel import gettext as _

from emergency.core import audit
from emergency.core.auth import acting_user, api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import Case, CaseEvent
from emergency.core.timeutil import iso_utc
from emergency.services import case_queue, cases
from emergency.services.exports import may_export_contacts
from emergency.services.households import household
from emergency.services.responses import latest_response
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body
from emergency.web.api.incidents import person_json
from emergency.web.api.traveller_payload import traveller_json

PATCHABLE = ("status", "assignee_id", "priority")


def _case_json(case: Case) -> dict:
    return {
        "id": case.id, "incident_id": case.incident_id, "traveller_id": case.traveller_id,
        "traveller_name": f"{case.traveller.given_name} {case.traveller.family_name}",
        "status": case.status, "priority": case.priority, "assignee_id": case.assignee_id,
        "source": case.source, "opened_at": iso_utc(case.opened_at), "waiting_since": iso_utc(case.waiting_since),
        "waiting_seconds": case_queue.waiting_seconds(case), "updated_at": iso_utc(case.updated_at),
        "resolved_at": iso_utc(case.resolved_at), "closed_at": iso_utc(case.closed_at),
        "unverified": case.unverified,
    }


def _event_json(event: CaseEvent) -> dict:
    response = event.response
    return {
        "id": event.id, "at": iso_utc(event.at), "kind": event.kind, "user_id": event.user_id,
        "source": event.source, "from_status": event.from_status, "to_status": event.to_status,
        "assignee_id": event.assignee_id, "priority": event.priority, "method": event.method,
        "outcome": event.outcome, "note": event.note, "unverified": event.unverified,
        "answer": None if response is None else {
            "status": response.status, "channel": response.channel, "message": response.message,
            "reported_by": response.reported_by, "companion_id": response.companion_id,
            "companion_name": (f"{response.companion.given_name} {response.companion.family_name}"
                               if response.companion else None)},
    }


def _stop_json(stop) -> dict | None:
    if stop is None:
        return None
    return {"country": stop.country, "place": stop.place, "address": stop.address, "lat": stop.lat,
            "lon": stop.lon, "precision": stop.precision, "arrival": stop.arrival.isoformat(),
            "departure": stop.departure.isoformat() if stop.departure else None}


def _case_detail(case: Case) -> dict:
    answer = latest_response(case.incident_id, case.traveller_id)
    return {**_case_json(case),
            "traveller": traveller_json(case.traveller, contacts=may_export_contacts(acting_user())),
            "latest_stop": _stop_json(case_queue.latest_stop(case.traveller)),
            "latest_answer": None if answer is None else {
                "status": answer.status, "channel": answer.channel, "message": answer.message,
                "received_at": iso_utc(answer.received_at)},
            "household": [person_json(p) for p in household(case.incident_id, case.traveller_id)],
            "events": [_event_json(e) for e in reversed(case.events)]}


def _case_or_404(case_id: int) -> Case:
    case = cases.get_case(case_id)
    if case is None:
        abort(404)
    return case


@bp.get("/cases")
@api_role_required("viewer")
def list_cases():
    try:
        f = case_queue.parse_filter(request.args)
    except case_queue.QueueFilterError as err:
        code = "invalid_page" if err.field in ("page", "per_page") else "invalid_query"
        return error_response(400, code, translate(err), fields={err.field: translate(err)})
    rows, total = case_queue.queue(f)
    return jsonify({"page": f.page, "per_page": f.per_page, "total": total,
                    "cases": [_case_json(c) for c in rows]})


@bp.get("/cases/<int:case_id>")
@api_role_required("viewer")
def get_case(case_id: int):
    case = _case_or_404(case_id)
    audit.record("traveller.viewed", "traveller", case.traveller_id, via="case", case_id=case.id)
    db_session().commit()
    return jsonify(_case_detail(case))


def _refusal(err: cases.CaseError):
    """A value that is never valid is 422; a status this case cannot take now is 409."""
    message = translate(err)
    if isinstance(err, cases.TransitionRefused):
        return error_response(409, "refused", message, fields={"status": message})
    return error_response(422, "invalid", message, fields={err.field or "body": message})


@bp.patch("/cases/<int:case_id>")
@api_role_required("coordinator")
def patch_case(case_id: int):
    """Change any of status, assignee_id (null: nobody) and priority, all or nothing."""
    case = _case_or_404(case_id)
    data = json_body()
    if not any(key in data for key in PATCHABLE):
        return error_response(422, "invalid", _("Give at least one of status, assignee_id and priority."))
    user = acting_user()
    session = db_session()
    try:
        if "assignee_id" in data:
            cases.assign(case, data["assignee_id"], user, commit=False)
        if "priority" in data:
            cases.set_priority(case, data["priority"], user, commit=False)
        if "status" in data:
            cases.set_status(case, data["status"], user, commit=False)
    except cases.CaseError as err:
        session.rollback()
        return _refusal(err)
    session.commit()
    return jsonify(_case_detail(case))


@bp.post("/cases/<int:case_id>/notes")
@api_role_required("coordinator")
def add_note(case_id: int):
    case = _case_or_404(case_id)
    data = json_body()
    text = data.get("text")
    try:
        event = cases.add_note(case, text if isinstance(text, str) else None, acting_user())
    except cases.CaseError as err:
        db_session().rollback()
        return error_response(422, "invalid", translate(err), fields={"text": translate(err)})
    return jsonify(_event_json(event)), 201
