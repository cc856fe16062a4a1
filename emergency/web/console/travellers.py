"""Coordinators find a traveller (phone enquiries, worried families) and read the record.

Search: console `/travellers?q=` and API `GET /api/v1/travellers?q=` (coordinator and up).
Each opening of a record is audited as `traveller.viewed` with the viewer's identity, and the
record page shows who has looked at it: people can ask who saw their data, and we can answer.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from emergency.core import audit
from emergency.core.auth import role_required
from emergency.core.database import db_session
from emergency.core.models import AuditEntry
from emergency.services.privacy import today_utc
from registry.models import Partner, Traveller
from registry.search import MAX_RESULTS, search_travellers

bp = Blueprint("travellers", __name__)
MAX_QUERY_LENGTH = 200
VIEW_TRAIL_LIMIT = 100


@bp.get("/travellers")
@role_required("coordinator")
def search():
    query = (request.args.get("q") or "").strip()[:MAX_QUERY_LENGTH]
    results = search_travellers(db_session(), query) if query else []
    if query:
        audit.record("traveller.searched", "traveller", None, results=len(results))
        db_session().commit()
    return render_template("console/travellers.html", query=query, results=results,
                           limit=MAX_RESULTS)


def view_trail(traveller_id: int) -> list[AuditEntry]:
    """Who looked at this record and when, newest first."""
    return list(db_session().scalars(
        select(AuditEntry).where(AuditEntry.object_type == "traveller",
                                 AuditEntry.object_id == str(traveller_id),
                                 AuditEntry.action == "traveller.viewed")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(VIEW_TRAIL_LIMIT)))


@bp.get("/travellers/<int:traveller_id>")
@role_required("coordinator")
def record(traveller_id: int):
    traveller = db_session().get(Traveller, traveller_id)
    if traveller is None:
        abort(404)
    audit.record("traveller.viewed", "traveller", traveller.id)
    db_session().commit()
    partner = db_session().get(Partner, traveller.partner_id) if traveller.partner_id else None
    return render_template(
        "console/traveller.html", t=traveller, partner=partner, today=today_utc(),
        companions=traveller.companions,
        contacts=traveller.emergency_contacts,
        trail=view_trail(traveller.id))

