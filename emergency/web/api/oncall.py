"""The on-call list over the API: who is on call and their phone (coordinator, as in the
console, since staff phone numbers are on it), and putting one user on or off call or
changing their phone (coordinator; audited). The rules are `services.staff_notifications`'."""
from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from emergency.core.auth import api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import StaffNotification, User
from emergency.core.timeutil import iso_utc
from emergency.services import staff_notifications as service
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body

PATCHABLE = ("on_call", "phone")


def _member_json(user: User) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email, "role": user.role, "language": user.language,
            "phone": user.phone, "on_call": user.on_call}


def _notification_json(n: StaffNotification) -> dict:
    return {"id": n.id, "user_id": n.user_id, "kind": n.kind, "object_type": n.object_type,
            "object_id": n.object_id, "channel": n.channel, "status": n.status, "attempts": n.attempts,
            "error": n.error, "created_at": iso_utc(n.created_at), "sent_at": iso_utc(n.sent_at)}


@bp.get("/on-call")
@api_role_required(service.ON_CALL_ROLE)
def list_on_call():
    return jsonify({"users": [_member_json(u) for u in service.staff()],
                    "notifications": [_notification_json(n) for n in service.recent()]})


@bp.patch("/users/<int:user_id>/on-call")
@api_role_required(service.ON_CALL_ROLE)
def patch_on_call(user_id: int):
    """Change `on_call` and/or `phone` (null or "" removes it), all or nothing."""
    user = db_session().get(User, user_id)
    if user is None:
        return error_response(404, "not_found", _("Not found."))
    data = json_body()
    if not any(key in data for key in PATCHABLE):
        return error_response(422, "invalid", _("Give at least one of on_call and phone."))
    try:
        service.update_member(user, **{key: data[key] for key in PATCHABLE if key in data})
    except service.OnCallError as err:
        db_session().rollback()
        message = translate(err)
        return error_response(422, "invalid", message, fields={err.field or "body": message})
    return jsonify(_member_json(user))
