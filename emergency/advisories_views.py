"""Travel advisories in the console (/advisories) and the JSON API (/api/v1/advisories).

Everyone signed in reads them; coordinators and up set them. Validation lives in
`advisories.validate`, so the page and the API refuse the same things with the same words.
"""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geo import countries
from registry.errors import ValidationFailed

from . import advisories as service
from .auth import api_role_required, role_required
from .i18n import current_language
from .i18n_errors import translate

bp = Blueprint("advisories", __name__)
api_bp = Blueprint("advisories_api", __name__, url_prefix="/api/v1")


def _page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    lang = current_language()
    return render_template(
        "console/advisories.html", advisories=service.list_advisories(),
        labels=service.LEVEL_LABELS, colours=service.LEVEL_COLOURS, levels=service.LEVELS,
        countries=countries.all_countries(lang),
        country_name=lambda code: countries.country_name(code, lang) or code,
        errors=errors or {}, form=form or {}), status


@bp.get("/advisories")
@role_required("viewer")
def index():
    return _page()


@bp.post("/advisories")
@role_required("coordinator")
def save():
    form = {k: request.form.get(k, "") for k in ("country", "level", "text_en", "text_fr")}
    try:
        advisory = service.set_advisory(form["country"], form["level"], form["text_en"], form["text_fr"])
    except ValidationFailed as failed:
        return _page({e.field: translate(e) for e in failed.errors}, form, 422)
    flash(_("Advisory for %(country)s saved.",
            country=countries.country_name(advisory.country, current_language()) or advisory.country), "success")
    return redirect(url_for("advisories.index") + f"#advisory-{advisory.country}")


def _error(status: int, code: str, message: str, **extra):
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


@api_bp.get("/advisories")
@api_role_required("viewer")
def api_list():
    return jsonify([service.advisory_json(a) for a in service.list_advisories()])


@api_bp.get("/advisories/<cc>")
@api_role_required("viewer")
def api_get(cc: str):
    advisory = service.advisory_for(cc)
    if advisory is None:
        return _error(404, "not_found", _("Not found."))
    return jsonify(service.advisory_json(advisory))


@api_bp.put("/advisories/<cc>")
@api_role_required("coordinator")
def api_put(cc: str):
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error(400, "invalid_json", _("The request body must be a JSON object."))
    try:
        advisory = service.set_advisory(cc, data.get("level"), data.get("text_en"), data.get("text_fr"))
    except ValidationFailed as failed:
        return _error(422, "invalid", _("Some fields are not valid."),
                      fields={e.field: translate(e) for e in failed.errors})
    return jsonify(service.advisory_json(advisory))
