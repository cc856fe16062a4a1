"""Incidents: a zone and a time window, and who is in them.

The zone arrives drawn, uploaded or as a circle; `geo` validates and normalises it;
the registry's join finds the affected stops on whichever database is configured.
"""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from flask_babel import lazy_gettext as _l  # noqa: F401  (messages below are N_-marked)
from sqlalchemy import select

from geo import countries
from geo.errors import GeoError
from geo.zones import Zone, circle, parse_geojson
from registry.affected import count_affected, find_affected
from registry.models import Traveller

from . import audit
from .database import db_session
from .models import Incident
from .timeutil import as_utc, parse_iso, utcnow


def N_(s: str) -> str:
    return s


class WindowError(ValueError):
    """A bad time window; `.message` is an English template translated by the web layer."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
        self.field = field


def _number(value, name: str) -> float:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        raise GeoError("not_a_number", N_("%(field)s must be a number."), field=name) from None


def zone_from_form(kind: str, form: Mapping, files: Mapping) -> Zone:
    """The zone a coordinator gave: drawn on the map, uploaded as GeoJSON, or a circle."""
    if kind == "circle":
        return circle(_number(form.get("lat"), "lat"), _number(form.get("lon"), "lon"),
                      _number(form.get("radius_km"), "radius_km"))
    if kind == "upload":
        upload = files.get("zone_file")
        if upload is None or not getattr(upload, "filename", ""):
            raise GeoError("no_file", N_("Choose a GeoJSON file to upload."))
        return parse_geojson(upload.read())
    if kind == "draw":
        text = (form.get("zone_geojson") or "").strip()
        if not text:
            raise GeoError("no_zone", N_("Draw a zone on the map first."))
        return parse_geojson(text)
    raise GeoError("zone_kind", N_("Choose how to give the zone: draw, upload or circle."))


def zone_from_json(payload) -> Zone:
    """API form of a zone: GeoJSON, or {"circle": {"lat":..,"lon":..,"radius_km":..}}."""
    if isinstance(payload, dict) and "circle" in payload:
        c = payload["circle"] if isinstance(payload["circle"], dict) else {}
        return circle(_number(c.get("lat"), "lat"), _number(c.get("lon"), "lon"),
                      _number(c.get("radius_km"), "radius_km"))
    if payload in (None, "", {}):
        raise GeoError("no_zone", N_("A zone is required."))
    return parse_geojson(payload)


def parse_window(starts_at: str | None, ends_at: str | None) -> tuple[datetime, datetime | None]:
    """The incident window; start defaults to now, end may stay open."""
    try:
        start = parse_iso(starts_at) if starts_at and starts_at.strip() else utcnow()
    except ValueError:
        raise WindowError(N_("The start time is not a valid date and time."), field="starts_at") from None
    try:
        end = parse_iso(ends_at) if ends_at and ends_at.strip() else None
    except ValueError:
        raise WindowError(N_("The end time is not a valid date and time."), field="ends_at") from None
    if end is not None and end < start:
        raise WindowError(N_("The end of the window is before its start."), field="ends_at")
    return start, end


def incident_zone(incident: Incident) -> Zone:
    return Zone.from_stored(incident.zone_geojson, incident.zone_source)


def affected_for(incident: Incident):
    return find_affected(db_session(), incident_zone(incident), as_utc(incident.starts_at), as_utc(incident.ends_at))


def count_for(incident: Incident) -> int:
    return count_affected(db_session(), incident_zone(incident), as_utc(incident.starts_at), as_utc(incident.ends_at))


def describe_rows(affected, lang: str, limit: int | None = None) -> list[dict]:
    """Affected stops joined with the travellers' names, for display (no contact details)."""
    chosen = affected if limit is None else affected[:limit]
    ids = [a.traveller_id for a in chosen]
    people = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for t in db_session().execute(
            select(Traveller.id, Traveller.given_name, Traveller.family_name, Traveller.language)
            .where(Traveller.id.in_(chunk))
        ):
            people[t.id] = t
    rows = []
    for a in chosen:
        t = people.get(a.traveller_id)
        rows.append({
            "traveller_id": a.traveller_id,
            "external_id": a.external_id,
            "name": f"{t.given_name} {t.family_name}" if t else "",
            "language": t.language if t else None,
            "country": a.country,
            "country_name": countries.country_name(a.country, lang) if a.country else "",
            "place": a.place,
            "precision": a.precision,
            "located_by": a.located_by,
            "lat": a.lat,
            "lon": a.lon,
            "distance_km": None if a.distance_km is None else round(float(a.distance_km), 1),
        })
    return rows


def preview(zone: Zone, start: datetime, end: datetime | None, limit: int = 50, lang: str = "en") -> dict:
    affected = find_affected(db_session(), zone, start, end)
    return {
        "count": len(affected),
        "rows": describe_rows(affected, lang, limit),
        "zone": zone.to_geojson(),
        "repaired": bool(zone.repaired),
        "note": zone.note,
    }


def create_incident(title: str, zone: Zone, starts_at: datetime, ends_at: datetime | None) -> Incident:
    title = (title or "").strip()
    if not title:
        raise WindowError(N_("A title is required."), field="title")
    if len(title) > 200:
        raise WindowError(N_("The title is too long (200 characters at most)."), field="title")
    from .auth import acting_user

    user = acting_user()
    incident = Incident(
        title=title, status="active", zone_geojson=zone.to_geojson(), zone_source=zone.source(),
        zone_note=zone.note, starts_at=starts_at, ends_at=ends_at,
        created_by_id=user.id if user else None,
    )
    session = db_session()
    session.add(incident)
    session.flush()
    audit.record("incident.created", "incident", incident.id, zone_kind=(zone.source() or {}).get("kind"),
                 repaired=bool(zone.repaired))
    session.commit()
    return incident


def get_incident(incident_id: int) -> Incident | None:
    return db_session().get(Incident, incident_id)


def list_incidents() -> list[Incident]:
    return list(db_session().scalars(select(Incident).order_by(Incident.status, Incident.created_at.desc())))


def close_incident(incident: Incident) -> Incident:
    if incident.status != "closed":
        incident.status = "closed"
        incident.closed_at = utcnow()
        audit.record("incident.closed", "incident", incident.id)
        db_session().commit()
    return incident
