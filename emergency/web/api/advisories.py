"""Travel advisories over the API (`advisories_api`): everyone with a token reads them;
coordinators and up set them. Validation lives in `services.advisories`, so the console page
and the API refuse the same things with the same words."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _

from emergency.core.auth import api_role_required
from emergency.core.i18n_errors import translate
from emergency.services import advisories as service
from emergency.web.api.errors import error_response, json_body, register_error_handlers
from registry.errors import ValidationFailed

bp = Blueprint("advisories_api", __name__, url_prefix="/api/v1")
register_error_handlers(bp)


@bp.get("/advisories")
@api_role_required("viewer")
def api_list():
    return jsonify([service.advisory_json(a) for a in service.list_advisories()])


@bp.get("/advisories/<cc>")
@api_role_required("viewer")
def api_get(cc: str):
    advisory = service.advisory_for(cc)
    if advisory is None:
        return error_response(404, "not_found", _("Not found."))
    return jsonify(service.advisory_json(advisory))


@bp.put("/advisories/<cc>")
@api_role_required("coordinator")
def api_put(cc: str):
    data = json_body()
    try:
        advisory = service.set_advisory(cc, data.get("level"), data.get("text_en"), data.get("text_fr"))
    except ValidationFailed as failed:
        return error_response(422, "invalid", _("Some fields are not valid."),
                              fields={e.field: translate(e) for e in failed.errors})
    return jsonify(service.advisory_json(advisory))
