"""The incident page's zones, clustered map and exports (console routes on `console.bp`).

The map must stay responsive with 100,000 travellers in a zone, so the page itself carries
no points: the browser fetches `/incidents/<id>/points.json` — bare arrays
`[lat, lon, precisionCode, answerCode]`, no names — and hands them to
Leaflet.markercluster in chunks. Country-only travellers are not pinned (we do not know
where in the country they are); they are listed as "possibly affected".
"""
from __future__ import annotations

import json

from flask import Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from emergency.core.database import db_session
from emergency.core.i18n import current_language
from emergency.core.i18n_errors import translate
from emergency.core.models import AlertRecipient, Incident
from emergency.services import exports, incidents
from emergency.services import zones as zones_service
from emergency.web.console.blueprint import bp, get_incident_or_404

DISPLAY_TTL_SECONDS = 20  # the page and its points.json ask back to back: compute once
PRECISION_CODES = ("point", "city", "country")
ANSWER_CODES = ("no_answer", "safe", "need_help")
POSSIBLY_LIMIT = 200


def _registry_version() -> tuple:
    """Changes whenever stops or travellers are added, removed or edited (cheap, indexed)."""
    from registry.models import Stop, Traveller

    session = db_session()
    stops = session.execute(select(func.count(Stop.id), func.max(Stop.id))).one()
    people = session.execute(select(func.count(Traveller.id), func.max(Traveller.updated_at))).one()
    return (*stops, *people)


def display_affected(incident: Incident) -> list:
    """The affected set for display only (page, map points), shared for a few seconds.

    Sending and exporting always compute afresh (`incidents.affected_for`); only what a
    person looks at may be up to DISPLAY_TTL_SECONDS old, and never across a registry
    change or a change of the incident's zones or window."""
    import time

    cache = current_app.extensions.setdefault("incident_display_cache", {})
    key = (incident.id, str(incident.starts_at), str(incident.ends_at),
           tuple((z.id, z.severity) for z in incident.zones), _registry_version())
    now = time.monotonic()
    hit = cache.get(incident.id)
    if hit and hit[0] == key and now - hit[1] < DISPLAY_TTL_SECONDS:
        return hit[2]
    affected = incidents.affected_for(incident)
    for stale in [k for k, v in cache.items() if now - v[1] >= DISPLAY_TTL_SECONDS]:
        cache.pop(stale, None)
    cache[incident.id] = (key, now, affected)
    return affected


def page_parts(incident: Incident, limit: int = 500, lang: str = "en") -> dict:
    """Affected rows, zones with counts, map data and the export form's fields."""
    affected = display_affected(incident)
    counts = zones_service.zone_counts(affected)
    sent = dict(db_session().execute(
        select(AlertRecipient.zone_id, func.count(func.distinct(AlertRecipient.traveller_id)))
        .where(AlertRecipient.incident_id == incident.id).group_by(AlertRecipient.zone_id)).all())
    zones = []
    for loaded in zones_service.load_zones(incident):
        record = loaded.record
        label = zones_service.zone_label(record, lang) if record is not None else None
        zones.append({
            "id": loaded.id, "severity": loaded.severity,
            "label": label or _("Severity %(n)s", n=loaded.severity),
            "message": (getattr(record, f"message_{lang}", None) or
                        getattr(record, "message_fr" if lang == "en" else "message_en", None)) if record else None,
            "note": record.zone_note if record is not None else incident.zone_note,
            "count": counts.get(loaded.id, {}).get("count", 0),
            "possibly": counts.get(loaded.id, {}).get("possibly", 0),
            "recipients": sent.get(loaded.id, 0),
            "zone": record.zone_geojson if record is not None else incident.zone_geojson,
        })
    possibly = [a for a in affected if a.precision == "country"]
    return {
        "affected": {"count": len(affected), "rows": incidents.describe_rows(affected, lang, limit)},
        "possibly": {"count": len(possibly), "rows": incidents.describe_rows(possibly, lang, POSSIBLY_LIMIT)},
        "zones": zones,
        "zone_labels": {z["id"]: z["label"] for z in zones},
        "export_fields": [{"name": name, "label": _(label), "contact": contact,
                           "checked": name in exports.DEFAULT_FIELDS}
                          for name, (label, contact) in exports.FIELDS.items()],
        "may_export_contacts": exports.may_export_contacts(current_user),
        "map_data": {
            "zone": incident.zone_geojson,
            "zones": [{"severity": z["severity"], "label": z["label"], "zone": z["zone"]} for z in zones],
            "points_url": url_for("console.incident_points", incident_id=incident.id),
            "tile_url": current_app.config.get("MAP_TILE_URL"),
        },
    }


def points_payload(incident: Incident) -> dict:
    """Located affected travellers as compact arrays, coloured by answer once an alert went out."""
    from emergency.services.dashboard import latest_responses

    session = db_session()
    affected = display_affected(incident)
    latest = latest_responses(incident.id)
    answers = dict(session.execute(select(latest.c.traveller_id, latest.c.status)).all())
    alerted = bool(session.scalar(select(func.count()).select_from(AlertRecipient)
                                  .where(AlertRecipient.incident_id == incident.id)))
    precision = {name: code for code, name in enumerate(PRECISION_CODES)}
    answer = {name: code for code, name in enumerate(ANSWER_CODES)}
    points, country_only = [], 0
    for a in affected:
        if a.lat is None or a.lon is None or a.precision == "country":
            country_only += 1
            continue
        points.append([round(a.lat, 5), round(a.lon, 5), precision.get(a.located_by, 0),
                       answer.get(answers.get(a.traveller_id), 0)])
    return {
        "mode": "answer" if alerted or answers else "precision",
        "count": len(points),
        "country_only": country_only,
        "precision_codes": list(PRECISION_CODES),
        "answer_codes": list(ANSWER_CODES),
        "points": points,
    }


@bp.get("/incidents/<int:incident_id>/points.json")
@login_required
def incident_points(incident_id: int):
    incident = get_incident_or_404(incident_id)
    body = json.dumps(points_payload(incident), separators=(",", ":"))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/incidents/<int:incident_id>/export")
@bp.get("/incidents/<int:incident_id>/export.<fmt>")
@login_required
def export_incident(incident_id: int, fmt: str | None = None):
    """Download the affected set; contact fields only for coordinators and above (else 403)."""
    incident = get_incident_or_404(incident_id)
    try:
        file = exports.export(incident, fmt or request.args.get("format"), request.args.getlist("fields"),
                              current_user, current_language())
    except exports.ExportError as err:
        return render_template("console/incident_export_error.html", incident=incident,
                               message=translate(err)), err.status
    response = Response(file.content, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _zone_helpers():
    def country_choices() -> list[tuple[str, str]]:
        """(code, name) of every country in the reader's language, for the countries tab."""
        from geo.countries import all_countries

        return all_countries(current_language())

    def posted(name: str, default: str = "") -> str:
        """A value of the submitted form, to show it again (nothing when the body was refused)."""
        try:
            return request.form.get(name, default) if request.method == "POST" else default
        except Exception:  # noqa: BLE001 - e.g. 413: the body is not readable
            return default

    def posted_list(name: str) -> list[str]:
        try:
            return request.form.getlist(name) if request.method == "POST" else []
        except Exception:  # noqa: BLE001
            return []

    return {"country_choices": country_choices, "posted": posted, "posted_list": posted_list}
