"""The partners' JSON API under /api/v1/partners/me: import, list, read and delete their own
travellers with a partner token.

Isolation is the point: every lookup is filtered on the token's partner, so a record of
another partner (or of the public registry) answers 404 exactly as if it did not exist —
a partner cannot even learn that an id is taken elsewhere. Tokens of coordinators and other
staff are refused here (403): they use /api/v1/travellers, which sees every record.
"""
from __future__ import annotations

import io
from functools import wraps

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_babel import gettext as _

from emergency.core import audit
from emergency.core.auth import api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.inputs import whole_number
from emergency.services import privacy
from emergency.web.api.errors import error_response, register_error_handlers
from emergency.web.api.traveller_payload import traveller_json
from registry.errors import ImportFileError
from registry.importer import import_csv
from registry.partners import partner_traveller, partner_travellers

bp = Blueprint("partner_api", __name__, url_prefix="/api/v1/partners/me")
register_error_handlers(bp)
MAX_PER_PAGE = 500


def partner_required(view):
    """A bearer token of an active user with the role `partner` and a partner attached."""

    @wraps(view)
    @api_role_required("partner")
    def wrapper(*args, **kwargs):
        user = g.api_user
        if user.role != "partner" or user.partner_id is None:
            return error_response(403, "forbidden", _("This is the partners' API; your token is not a partner's."))
        return view(user.partner_id, *args, **kwargs)

    return wrapper


def _upload() -> io.TextIOBase | None:
    """The CSV text of the request: a multipart `file` field or a text/csv body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            return None
        return io.TextIOWrapper(upload.stream, encoding="utf-8-sig", newline="")
    data = request.get_data(cache=False)
    if not data:
        return None
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")


@bp.post("/travellers/import")
@partner_required
def import_travellers(partner_id: int):
    request.max_content_length = current_app.config["PARTNER_IMPORT_MAX_BYTES"]
    fh = _upload()
    if fh is None:
        return error_response(400, "no_file", _("Send the CSV file as a text/csv body or as a multipart field named \"file\"."))
    session = db_session()
    try:
        report = import_csv(session, fh, partner_id=partner_id)
    except ImportFileError as err:
        session.rollback()
        return error_response(422, "invalid_file", translate(err))
    audit.record("partner.import", "partner", partner_id, rows=report.rows,
                 created=report.travellers_created, updated=report.travellers_updated,
                 unchanged=report.travellers_unchanged, errors=len(report.errors))
    session.commit()
    return jsonify({
        "ok": report.ok,
        "rows": report.rows,
        "travellers_created": report.travellers_created,
        "travellers_updated": report.travellers_updated,
        "travellers_unchanged": report.travellers_unchanged,
        "stops": report.stops,
        "errors": [{"line": line, "field": err.field, "message": err.render(_)}
                   for line, err in report.problems],
    })


@bp.get("/travellers")
@partner_required
def list_travellers(partner_id: int):
    page = whole_number(request.args.get("page", "1"), minimum=1)
    per_page = whole_number(request.args.get("per_page", "50"), minimum=1, maximum=MAX_PER_PAGE)
    if page is None or per_page is None:
        return error_response(400, "invalid_page", _("page must be 1 or more and per_page between 1 and %(max)d.",
                                             max=MAX_PER_PAGE))
    rows, total = partner_travellers(db_session(), partner_id, page, per_page)
    return jsonify({"page": page, "per_page": per_page, "total": total,
                    "travellers": [traveller_json(t) for t in rows]})


def _own_or_404(partner_id: int, external_id: str):
    traveller = partner_traveller(db_session(), partner_id, external_id)
    if traveller is None:
        abort(404)
    return traveller


@bp.get("/travellers/<path:external_id>")
@partner_required
def get_traveller(partner_id: int, external_id: str):
    traveller = _own_or_404(partner_id, external_id)
    audit.record("traveller.viewed", "traveller", traveller.id)
    db_session().commit()
    return jsonify(traveller_json(traveller))


@bp.delete("/travellers/<path:external_id>")
@partner_required
def delete_traveller(partner_id: int, external_id: str):
    traveller = _own_or_404(partner_id, external_id)
    traveller_id = traveller.id
    privacy.erase_travellers(db_session(), [traveller_id])
    audit.record("traveller.deleted", "traveller", traveller_id, by="partner")
    db_session().commit()
    return "", 204
