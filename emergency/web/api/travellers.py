"""Travellers over the API: register one (the same fields as the public form), read one, and
search by name, email or phone (`travellers_api`, coordinators and up, every search audited)."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _

from emergency.core import audit
from emergency.core.auth import api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body, register_error_handlers
from emergency.web.api.traveller_payload import traveller_input, traveller_json
from registry.errors import ValidationFailed
from registry.models import Traveller
from registry.search import MAX_RESULTS, search_travellers
from registry.service import register_traveller

search_bp = Blueprint("travellers_api", __name__, url_prefix="/api/v1")
register_error_handlers(search_bp)
MAX_QUERY_LENGTH = 200


@bp.post("/travellers")
@api_role_required("coordinator")
def create_traveller():
    data = json_body()
    try:
        traveller = register_traveller(db_session(), traveller_input(data), source="api")
    except ValidationFailed as failed:
        db_session().rollback()
        return error_response(422, "invalid", _("Some fields are not valid."),
                      fields={e.field: translate(e) for e in failed.errors})
    db_session().flush()
    audit.record("traveller.registered", "traveller", traveller.id)
    db_session().commit()
    return jsonify(traveller_json(traveller)), 201


@bp.get("/travellers/<int:traveller_id>")
@api_role_required("coordinator")
def get_traveller(traveller_id: int):
    traveller = db_session().get(Traveller, traveller_id)
    if traveller is None:
        abort(404)
    audit.record("traveller.viewed", "traveller", traveller.id)
    db_session().commit()
    return jsonify(traveller_json(traveller))


def _summary(t: Traveller) -> dict:
    return {"id": t.id, "external_id": t.external_id, "partner_id": t.partner_id,
            "given_name": t.given_name, "family_name": t.family_name, "email": t.email,
            "phone": t.phone, "language": t.language}


@search_bp.get("/travellers")
@api_role_required("coordinator")
def api_search():
    query = (request.args.get("q") or "").strip()
    if not query or len(query) > MAX_QUERY_LENGTH:
        return error_response(400, "invalid_query", _("Give a name, email or phone number to search for."))
    results = search_travellers(db_session(), query)
    audit.record("traveller.searched", "traveller", None, results=len(results))
    db_session().commit()
    return jsonify({"count": len(results), "limit": MAX_RESULTS, "travellers": [_summary(t) for t in results]})
