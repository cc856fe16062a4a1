"""Travel advisories in the console (/advisories); the JSON API is `web.api.advisories`.

Everyone signed in reads them; coordinators and up set them. Validation lives in
`advisories.validate`, so the page and the API refuse the same things with the same words.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from emergency.core.auth import role_required
from emergency.core.i18n import current_language
from emergency.core.i18n_errors import translate
from emergency.services import advisories as service
from geo import countries
from registry.errors import ValidationFailed

bp = Blueprint("advisories", __name__)


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

