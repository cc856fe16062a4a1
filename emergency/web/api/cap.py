"""CAP over the API: trigger systems post CAP 1.2 messages (`POST /triggers`), partners
read our alerts as CAP-CP (`GET /alerts/{id}/cap`) and an Atom index of them
(`GET /alerts/cap.atom`).

Posting a trigger takes the bearer token of a coordinator or above (a trigger system is a
user with that role and an API token), or, for systems that cannot hold a token, an
HMAC-SHA256 of the raw body with the shared secret `TRIGGER_HMAC_SECRET`, sent as
`X-Signature: sha256=<hex>`. Reading CAP takes any token of a viewer or above: a partner
token reaches only its own /partners/me resources, as everywhere else in the API.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import Response, abort, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from emergency.core.auth import api_role_required, hash_token
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import Alert, User
from emergency.services import cap_in, cap_out
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response

CAP_TYPE = "application/cap+xml"


def _signature_ok(body: bytes) -> bool:
    secret = current_app.config.get("TRIGGER_HMAC_SECRET")
    given = (request.headers.get("X-Signature") or "").strip()
    if not secret or not given.lower().startswith("sha256="):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given[len("sha256="):].lower(), expected)


def _authorise(body: bytes) -> None:
    """A coordinator's (or above) bearer token, else a good signature; 401/403 otherwise."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = db_session().scalar(select(User).where(User.api_token_hash == hash_token(token.strip())))
        if user is None or not user.active:
            abort(401)
        if not user.has_role("coordinator"):
            abort(403)
        g.api_user = user
        return
    if not _signature_ok(body):
        abort(401)


def _public(endpoint: str, **values) -> str:
    """An absolute URL on the public address (behind a TLS proxy the request's own host may not be)."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)


def _reason(problem) -> dict:
    return {"path": problem.path, "code": problem.code, "message": translate(problem)}


def _outcome(outcome) -> dict:
    return {
        "identifier": outcome.identifier, "sender": outcome.sender, "status": outcome.status,
        "incident_id": outcome.incident_id, "alert_id": outcome.alert_id,
        "incident_url": _public("console.incident", incident_id=outcome.incident_id)
        if outcome.incident_id else None,
        "notes": [{"code": n, "message": _(cap_in.NOTES[n])} for n in outcome.notes if n in cap_in.NOTES],
        "reasons": [_reason(r) for r in outcome.reasons],
    }


@bp.post("/triggers")
def post_trigger():
    limit = cap_in.max_bytes()
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    body = request.get_data(cache=False)
    if len(body) > limit:
        abort(413)
    _authorise(body)
    if request.mimetype != CAP_TYPE:
        return error_response(415, "unsupported_media_type",
                              _("Send a CAP 1.2 document with Content-Type: application/cap+xml."))
    result = cap_in.ingest(body, "api")
    outcomes = [_outcome(o) for o in result.outcomes]
    if result.refused:
        return error_response(422, "invalid_cap", _("The CAP message was refused."),
                              reasons=[r for o in outcomes for r in o["reasons"]], messages=outcomes)
    first = next(o for o in outcomes if o["status"] != "refused")
    status = 201 if any(o["status"] == "opened" for o in outcomes) else 200
    return jsonify(status=result.status, incident_id=result.incident_id, incident_url=first["incident_url"],
                   alert_id=first["alert_id"], messages=outcomes), status


def _cap_response(document: bytes) -> Response:
    return Response(document, mimetype=CAP_TYPE)


@bp.get("/alerts/<int:alert_id>/cap")
@api_role_required("viewer")
def alert_cap(alert_id: int):
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return _cap_response(cap_out.alert_document(alert))


@bp.get("/alerts/cap.atom")
@api_role_required("viewer")
def alerts_atom():
    def url(alert_id):
        if alert_id is None:
            return _public("api.alerts_atom")
        return _public("api.alert_cap", alert_id=alert_id)

    return Response(cap_out.atom_index(url), mimetype="application/atom+xml")
