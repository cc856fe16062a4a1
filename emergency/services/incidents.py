"""Incidents: a zone and a time window, and who is in them.

The zone arrives drawn, uploaded or as a circle; `geo` validates and normalises it;
the registry's join finds the affected stops on whichever database is configured.
"""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from flask import current_app
from sqlalchemy import func, select

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import Incident, IncidentZone
from emergency.core.timeutil import as_utc, parse_iso
from emergency.services import zones as zones_service
from emergency.services.errors import ServiceError
from emergency.services.zones import ZoneSpec, ZoneSpecError, parse_number
from geo import countries, formats
from geo.errors import GeoError
from geo.limits import UploadLimits
from geo.sources import zone_from_stored
from geo.zones import Zone, circle, parse_geojson
from registry.models import Companion, Traveller

TEXT_KINDS = ("wkt", "cap_polygon", "cap_circle", "corridor")
MAX_EXTRA_ZONES = zones_service.MAX_ZONES - 1


class WindowError(ServiceError):
    """A bad time window."""


def zone_from_form(kind: str, form: Mapping, files: Mapping) -> Zone:
    """The zone a coordinator gave: drawn, uploaded (GeoJSON, KML, zipped Shapefile,
    GeoPackage), typed (WKT, CAP polygon or circle, corridor), countries, or a circle."""
    if kind == "circle":
        return circle(parse_number(form.get("lat"), "lat"), parse_number(form.get("lon"), "lon"),
                      parse_number(form.get("radius_km"), "radius_km"))
    if kind == "upload":
        upload = files.get("zone_file")
        if upload is None or not getattr(upload, "filename", ""):
            raise GeoError("no_file", N_("Choose a file to upload."))
        return formats.parse_upload(upload.filename, upload.read(), upload_limits())
    if kind == "text":
        text_kind = (form.get("text_kind") or "wkt").strip()
        if text_kind not in TEXT_KINDS:
            raise GeoError("text_kind", N_("Choose what the text is: WKT, a CAP polygon, a CAP circle or a corridor."))
        text = (form.get("zone_text") or "").strip()
        if not text:
            raise GeoError("no_text", N_("Paste the zone's text first."))
        params = {}
        if text_kind == "corridor":
            params["distance_km"] = parse_number(form.get("corridor_km"), "corridor_km")
        return formats.parse_zone_text(text_kind, text, **params)
    if kind == "countries":
        getlist = getattr(form, "getlist", None)
        codes = getlist("countries") if getlist else form.get("countries") or []
        if isinstance(codes, str):
            codes = [codes]
        codes = [c.strip() for c in codes if c and c.strip()]
        if not codes:
            raise GeoError("no_country", N_("Choose at least one country."))
        return formats.parse_zone_text("countries", ",".join(codes))
    if kind == "draw":
        text = (form.get("zone_geojson") or "").strip()
        if not text:
            raise GeoError("no_zone", N_("Draw a zone on the map first."))
        return parse_geojson(text)
    raise GeoError("zone_kind", N_("Choose how to give the zone: draw, upload, text, countries or circle."))


def upload_limits() -> UploadLimits:
    """What reading one uploaded zone file may cost here (the time from the settings)."""
    return UploadLimits(seconds=current_app.config["UPLOAD_TIME_LIMIT_SECONDS"])


def specs_from_form(kind: str, form: Mapping, files: Mapping) -> list[ZoneSpec]:
    """The main zone (severity 1) and any extra zones of the new-incident form.

    Extra zones come as rows `zones-N-*`: a ring (`radius_km`, a circle around the main
    zone's centre) or a zone typed as GeoJSON or WKT (`text`); each with labels and
    messages. Rows keep their order: severity 2, 3, ... outwards."""
    main = zone_from_form(kind, form, files)
    specs = [zones_service.make_spec(main, 1, **_texts(form, "zone_"))]
    inner = main.circle[2] if main.circle else None
    for index in range(MAX_EXTRA_ZONES + 5):
        prefix = f"zones-{index}-"
        radius = (form.get(prefix + "radius_km") or "").strip()
        text = (form.get(prefix + "text") or "").strip()
        if not radius and not text:
            continue
        if len(specs) > MAX_EXTRA_ZONES:
            raise ZoneSpecError(N_("An incident has at most %(max)s zones."), field="zones",
                                max=zones_service.MAX_ZONES)
        if radius:
            zone = zones_service.ring(main, radius, inner)
            inner = zone.circle[2]
        elif text.startswith("{"):
            zone = parse_geojson(text)
        else:
            zone = formats.parse_zone_text("wkt", text)
        specs.append(zones_service.make_spec(zone, len(specs) + 1, **_texts(form, prefix)))
    return zones_service.check_specs(specs)


def _texts(form: Mapping, prefix: str) -> dict:
    return {name: form.get(prefix + name) for name in ("label_en", "label_fr", "message_en", "message_fr")}


def zone_from_json(payload) -> Zone:
    """API form of a zone: GeoJSON; {"circle": {"lat":..,"lon":..,"radius_km":..}};
    {"countries": ["PT", "ES"]}; or {"kind": "wkt"|"cap_polygon"|"cap_circle"|"corridor",
    "text": "...", ...parameters}."""
    if isinstance(payload, dict) and "circle" in payload:
        c = payload["circle"] if isinstance(payload["circle"], dict) else {}
        return circle(parse_number(c.get("lat"), "lat"), parse_number(c.get("lon"), "lon"),
                      parse_number(c.get("radius_km"), "radius_km"))
    if isinstance(payload, dict) and "countries" in payload:
        codes = payload["countries"]
        if isinstance(codes, str):
            codes = [codes]
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            raise GeoError("no_country", N_("Choose at least one country."))
        return formats.parse_zone_text("countries", ",".join(codes))
    if isinstance(payload, dict) and payload.get("kind") in TEXT_KINDS and "text" in payload:
        params = {k: v for k, v in payload.items() if k not in ("kind", "text")}
        return formats.parse_zone_text(payload["kind"], str(payload["text"] or ""), **params)
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
    """The union of the incident's zones (one Zone); for a single zone, that zone exactly."""
    if len(incident.zones) == 1:
        z = incident.zones[0]
        return zone_from_stored(z.zone_geojson, z.zone_source)
    return zone_from_stored(incident.zone_geojson, incident.zone_source)


def affected_for(incident: Incident):
    """Every affected traveller with their zone (`ZonedStop`: an AffectedStop + zone_id, severity)."""
    return zones_service.affected_by_zone(db_session(), zones_service.load_zones(incident),
                                          as_utc(incident.starts_at), as_utc(incident.ends_at))


def count_for(incident: Incident) -> int:
    return zones_service.count_by_zone(db_session(), zones_service.load_zones(incident),
                                       as_utc(incident.starts_at), as_utc(incident.ends_at))


def companion_counts(traveller_ids: list[int]) -> dict[int, int]:
    """How many companions each traveller registered (travellers with none are left out)."""
    counts: dict[int, int] = {}
    for start in range(0, len(traveller_ids), 900):
        chunk = traveller_ids[start:start + 900]
        counts.update(db_session().execute(
            select(Companion.traveller_id, func.count()).where(Companion.traveller_id.in_(chunk))
            .group_by(Companion.traveller_id)).all())
    return counts


def describe_rows(affected, lang: str, limit: int | None = None) -> list[dict]:
    """Affected stops joined with the travellers' names, for display (no contact details).

    Country-only rows are `possibly` affected: the zone touches the country, but we do
    not know where in it the traveller is."""
    chosen = affected if limit is None else affected[:limit]
    ids = [a.traveller_id for a in chosen]
    people = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for t in db_session().execute(
            select(Traveller.id, Traveller.external_id, Traveller.given_name, Traveller.family_name,
                   Traveller.language)
            .where(Traveller.id.in_(chunk))
        ):
            people[t.id] = t
    companions = companion_counts(ids)
    rows = []
    for a in chosen:
        t = people.get(a.traveller_id)
        rows.append({
            "traveller_id": a.traveller_id,
            "external_id": t.external_id if t else None,
            "name": f"{t.given_name} {t.family_name}" if t else "",
            "language": t.language if t else None,
            "country": a.country,
            "country_name": countries.country_name(a.country, lang) if a.country else "",
            "place": a.place,
            "precision": a.precision,
            "located_by": a.located_by,
            "possibly": a.precision == "country",
            "lat": a.lat,
            "lon": a.lon,
            "distance_km": None if a.distance_km is None else round(float(a.distance_km), 1),
            "zone_id": a.zone_id,
            "severity": a.severity,
            "companions": companions.get(a.traveller_id, 0),
        })
    return rows


def preview(zone, start: datetime, end: datetime | None, limit: int = 50, lang: str = "en") -> dict:
    """Who a zone (or a list of ZoneSpecs) would affect: count, first rows, per-zone counts."""
    specs = zone if isinstance(zone, list) else [ZoneSpec(zone=zone)]
    loaded = [zones_service.LoadedZone(index, s.severity, s.zone) for index, s in enumerate(specs)]
    affected = zones_service.affected_by_zone(db_session(), loaded, start, end)
    counts = zones_service.zone_counts(affected)
    first = specs[0].zone
    return {
        "count": len(affected),
        "rows": describe_rows(affected, lang, limit),
        "zone": zones_service.union_geojson(specs) if len(specs) > 1 else first.to_geojson(),
        "zones": [{"index": i, "severity": s.severity,
                   "label": (s.label_fr or s.label_en) if lang == "fr" else (s.label_en or s.label_fr),
                   "zone": s.zone.to_geojson(), "count": counts.get(i, {}).get("count", 0),
                   "possibly": counts.get(i, {}).get("possibly", 0)} for i, s in enumerate(specs)],
        "repaired": any(s.zone.repaired for s in specs),
        "note": next((s.zone.note for s in specs if s.zone.note), None),
    }


def create_incident(title: str, zone, starts_at: datetime, ends_at: datetime | None, commit: bool = True,
                    title_fr: str | None = None) -> Incident:
    """Store an incident with one zone (a Zone) or severity rings (a list of ZoneSpec).
    `title` is the English title (it serves French readers too when `title_fr` is empty).

    `commit=False` only flushes, for a caller that stores more with it in one transaction."""
    title = (title or "").strip()
    if not title:
        raise WindowError(N_("A title is required."), field="title")
    if len(title) > 200:
        raise WindowError(N_("The title is too long (200 characters at most)."), field="title")
    title_fr = (title_fr or "").strip() or None
    if title_fr is not None and len(title_fr) > 200:
        raise WindowError(N_("The title is too long (200 characters at most)."), field="title_fr")
    from emergency.core.auth import acting_user

    specs = zones_service.check_specs(zone if isinstance(zone, list) else [ZoneSpec(zone=zone)])
    first = specs[0].zone
    single = len(specs) == 1
    user = acting_user()
    incident = Incident(
        title_en=title, title_fr=title_fr, status="active",
        zone_geojson=first.to_geojson() if single else zones_service.union_geojson(specs),
        zone_source=first.source() if single else {"kind": "zones", "count": len(specs)},
        zone_note=next((s.zone.note for s in specs if s.zone.note), None),
        starts_at=starts_at, ends_at=ends_at,
        created_by_id=user.id if user else None,
    )
    for spec in specs:
        incident.zones.append(IncidentZone(
            severity=spec.severity, label_en=spec.label_en, label_fr=spec.label_fr,
            zone_geojson=spec.zone.to_geojson(), zone_source=spec.zone.source(), zone_note=spec.zone.note,
            message_en=spec.message_en, message_fr=spec.message_fr))
    session = db_session()
    session.add(incident)
    session.flush()
    audit.record("incident.created", "incident", incident.id, zone_kind=(first.source() or {}).get("kind"),
                 zones=len(specs), repaired=any(s.zone.repaired for s in specs))
    if commit:
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
