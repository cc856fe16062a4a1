"""CAP in: a CAP 1.2 message opens a draft incident, or updates or cancels the one it follows.

`ingest(document, source)` is the one entry point of the console upload, the trigger API
and the feed pollers. It reads the document with `cap.read` (schema and CAP's rules; a
refusal lists every reason) and, for each alert in it:

* **Alert** opens a draft incident: the zone from the areas' polygons and circles (a
  circle stays an exact geodesic circle), or from CAP-CP location codes when
  `CAP_GEOCODE_MAP` names a GeoJSON of them; the window from onset/effective to expires;
  the title from the English and French headlines; a draft safety check whose English and
  French texts come from the en-* and fr-* `<info>` blocks. When a language is missing, no
  draft alert is made: the incident page says which language the message lacked and the
  compose form holds what the message gave, so the coordinator writes the other language
  (nothing is machine-translated).
* **Update** finds the incident through the messages its `<references>` name and replaces
  the zone, window, title and unsent draft texts, as long as no alert has gone out. After
  an alert was sent, the update is only recorded and the incident page tells the
  coordinator, who decides. An update that refers to nothing we have opens a new draft.
* **Cancel** closes the draft incident it refers to (recorded only after an alert was sent).

Only `Actual` messages are acted on. CAP says a Test message is to be disregarded, System
and Draft messages are not alerts, and the system has no exercise mode yet: an Exercise
opened as a real draft could be sent to real travellers, so it is refused with that reason.
Ack and Error messages are between systems and open nothing.

A message already ingested (same sender and identifier) answers with what it did the first
time (`duplicate`); the unique key makes that hold under concurrent posts. Every ingest,
refused or not, is in the audit log (codes only, never the message's text).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import shapely
from flask import current_app
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from cap.model import Alert as CapAlert
from cap.read import CapError, Problem, read
from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.auth import acting_user
from emergency.core.database import db_session
from emergency.core.models import Alert, CapMessage, Incident, IncidentZone
from emergency.services import alerts as alert_service
from emergency.services import incidents as incident_service
from emergency.services import zones as zones_service
from geo.errors import GeoError
from geo.geometry import split_antimeridian
from geo.zones import Zone, circle, parse_geojson, zone_from_polygons
from notify.segments import gsm_safe

LANGUAGES = ("en", "fr")
CAP_CP_LOCATION = "profile:CAP-CP:Location:"
SENT_STATES = ("sending", "sent")

# What the incident page says about a CAP message (`CapMessage.notes`), by code.
NOTES = {
    "missing_en": N_("The CAP message had no English text: write the English alert yourself."),
    "missing_fr": N_("The CAP message had no French text: write the French alert yourself."),
    "unknown_reference": N_("It updates messages we never received, so it opened a new draft."),
    "alert_already_sent": N_("An alert had already been sent: the zone and texts were left as they were. "
                             "Check whether travellers need an update."),
    "cancel_after_send": N_("The sender cancelled its alert after ours was sent: consider an all-clear."),
    "incident_closed": N_("The incident was already closed; nothing was changed."),
    "zone_kept": N_("The update gave no area; the zone was kept."),
    "areas_without_shape": N_("Some of its areas had neither a polygon, a circle nor a known location code "
                              "and are not in the zone."),
    "point_circle": N_("A circle of radius 0 (a point) was left out of the zone."),
}


@dataclass
class Outcome:
    """What one CAP alert did: `status` is opened, updated, cancelled, recorded (kept on
    the incident, nothing changed), duplicate (already ingested) or refused (`reasons`)."""

    status: str
    incident_id: int | None = None
    identifier: str | None = None
    sender: str | None = None
    alert_id: int | None = None
    reasons: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    """One Outcome per alert in the document (EDXL-DE may carry several)."""

    outcomes: list[Outcome]

    @property
    def status(self) -> str:
        """The first alert's status; "refused" only when every alert was refused."""
        accepted = [o for o in self.outcomes if o.status != "refused"]
        return accepted[0].status if accepted else "refused"

    @property
    def incident_id(self) -> int | None:
        return next((o.incident_id for o in self.outcomes if o.incident_id is not None), None)

    @property
    def refused(self) -> bool:
        return self.status == "refused"

    @property
    def reasons(self) -> list[Problem]:
        return [r for o in self.outcomes for r in o.reasons]


def _refuse(code: str, message: str, path: str = "/alert", **params) -> Outcome:
    return Outcome("refused", reasons=[Problem(path, code, message, params)])


def max_bytes() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 5 * 1024 * 1024)


def ingest(document: bytes, source: str = "upload") -> IngestResult:
    """Read `document` (CAP 1.2, or EDXL-DE carrying CAP 1.2) and act on each alert in it."""
    source = (source or "upload")[:300]
    try:
        alerts = read(document, max_bytes=max_bytes())
    except CapError as err:
        audit.record("cap.refused", "cap_message", None, source=_source_kind(source),
                     reasons=sorted({p.code for p in err.problems}))
        db_session().commit()
        return IngestResult([Outcome("refused", reasons=err.problems)])
    outcomes = []
    for alert in alerts:
        outcome = _ingest_one(alert, source)
        outcome.identifier, outcome.sender = alert.identifier, alert.sender
        outcomes.append(outcome)
        if outcome.status == "refused":
            audit.record("cap.refused", "cap_message", None, source=_source_kind(source), msg_type=alert.msg_type,
                         reasons=sorted({p.code for p in outcome.reasons}))
            db_session().commit()
    return IngestResult(outcomes)


def _source_kind(source: str) -> str:
    return source if source in ("upload", "api") else "feed"


def _ingest_one(alert: CapAlert, source: str) -> Outcome:
    if alert.status != "Actual":
        return _refuse("not_actual", N_("Only Actual messages open incidents; this one is %(status)s. Test, System "
                                        "and Draft messages are never acted on, and exercises will be once the system "
                                        "has an exercise mode."), "/alert/status", status=alert.status)
    if alert.msg_type not in ("Alert", "Update", "Cancel"):
        return _refuse("not_acted_on", N_("%(type)s messages are acknowledgements between systems; they open "
                                          "nothing."), "/alert/msgType", type=alert.msg_type)
    earlier = _already(alert)
    if earlier is not None:
        return Outcome("duplicate", incident_id=earlier.incident_id)
    previous = _referenced(alert)
    try:
        if alert.msg_type == "Cancel":
            if previous is None:
                return _refuse("unknown_reference", N_("This message cancels messages we never received; there is "
                                                       "nothing to cancel."), "/alert/references")
            return _cancel(alert, previous, source)
        if alert.msg_type == "Update" and previous is not None:
            return _update(alert, previous, source)
        return _open(alert, source, notes=["unknown_reference"] if alert.references else [])
    except IntegrityError:  # the same message, ingested at the same moment by another request
        db_session().rollback()
        earlier = _already(alert)
        if earlier is None:
            raise
        return Outcome("duplicate", incident_id=earlier.incident_id)


def _already(alert: CapAlert) -> CapMessage | None:
    return db_session().scalar(select(CapMessage).where(CapMessage.sender == alert.sender,
                                                        CapMessage.identifier == alert.identifier))


def _referenced(alert: CapAlert) -> CapMessage | None:
    """The latest message we hold among those `alert` references."""
    keys = [(r.sender, r.identifier) for r in alert.references]
    if not keys:
        return None
    return db_session().scalar(
        select(CapMessage).where(tuple_(CapMessage.sender, CapMessage.identifier).in_(keys))
        .order_by(CapMessage.sent.desc(), CapMessage.id.desc()).limit(1))


# --------------------------------------------------------------------------- texts


def texts_for(alert: CapAlert) -> tuple[dict[str, str], list[str]]:
    """The draft alert's texts from the en-* and fr-* <info> blocks ("" where the message
    has no block in that language) and the notes saying which language is missing."""
    texts: dict[str, str] = {}
    notes = []
    for lang in LANGUAGES:
        info = alert.info_for(lang)
        if info is None:
            texts.update({f"{part}_{lang}": "" for part in ("subject", "body", "sms")})
            notes.append(f"missing_{lang}")
            continue
        headline = (info.headline or info.event or "").strip()
        defaults = alert_service.default_texts(SimpleNamespace(title=headline[:120]))
        body = "\n\n".join(t for t in (defaults[f"body_{lang}"], info.description, info.instruction) if t)
        sms = defaults[f"sms_{lang}"]
        texts.update({
            f"subject_{lang}": headline[:alert_service.LIMITS["subject"]],
            f"body_{lang}": body[:alert_service.LIMITS["body"]],
            f"sms_{lang}": (gsm_safe(sms) if lang == "fr" else sms)[:alert_service.LIMITS["sms"]],
        })
    return texts, notes


def titles_for(alert: CapAlert) -> tuple[str, str | None]:
    """(English title, French title): each language's headline; when the message has only
    one language, or neither, `title_for`'s title in English and no French title."""
    def cut(text: str) -> str:
        return text if len(text) <= 200 else text[:199] + "…"

    heads = {}
    for lang in LANGUAGES:
        info = alert.info_for(lang)
        if info is not None and (info.headline or info.event):
            heads[lang] = (info.headline or info.event).strip()
    if heads.get("en") and heads.get("fr"):
        return cut(heads["en"]), cut(heads["fr"])
    return title_for(alert), None


def title_for(alert: CapAlert) -> str:
    """"English headline / French headline"; one of them, or the first block's, when the
    message has fewer languages."""
    heads = []
    for lang in LANGUAGES:
        info = alert.info_for(lang)
        if info is not None and (info.headline or info.event):
            heads.append((info.headline or info.event).strip())
    if not heads and alert.infos:
        first = alert.infos[0]
        heads.append((first.headline or first.event or "").strip())
    title = " / ".join(dict.fromkeys(h for h in heads if h)) or alert.identifier
    return title if len(title) <= 200 else title[:199] + "…"


def window_for(alert: CapAlert) -> tuple[datetime, datetime | None]:
    starts = [i.onset or i.effective for i in alert.infos if i.onset or i.effective]
    ends = [i.expires for i in alert.infos if i.expires]
    start = min(starts) if starts else alert.sent
    end = max(ends) if ends else None
    return start, (end if end is not None and end > start else None)


# --------------------------------------------------------------------------- the zone


def zone_for(alert: CapAlert) -> tuple[Zone | None, list[str]]:
    """The zone of all the alert's areas (None when it gives none) and notes; GeoError for a
    shape `geo` refuses."""
    rings, shapes, notes = [], [], []
    seen = set()
    unresolved = 0
    mapping = geocode_map()
    for info in alert.infos:
        for area in info.areas:
            key = (repr(area.polygons), repr(area.circles), repr(area.geocodes))
            if key in seen:  # the same area in the other language's block
                continue
            seen.add(key)
            found = False
            for ring in area.polygons:
                rings.append([[list(p) for p in ring]])
                found = True
            for c in area.circles:
                if c.radius_km > 0:
                    shapes.append(circle(c.lat, c.lon, c.radius_km))
                    found = True
                elif "point_circle" not in notes:
                    notes.append("point_circle")
            if not found and mapping:
                codes = [g.value for g in area.geocodes if g.name.startswith(CAP_CP_LOCATION) and g.value in mapping]
                for code in codes:
                    shapes.append(mapping[code])
                found = bool(codes)
            unresolved += not found
    zones = ([zone_from_polygons(rings, origin={"format": "cap"})] if rings else []) + shapes
    if not zones:
        return None, notes
    if unresolved:
        notes.append("areas_without_shape")
    if len(zones) == 1:
        return zones[0], notes
    union = split_antimeridian(shapely.union_all([z.geometry for z in zones]))
    return Zone(geometry=union, origin={"format": "cap"}), notes


def _no_zone(notes: list[str]) -> Outcome:
    if "point_circle" in notes:
        return _refuse("point_only", N_("The alert's only circles have radius 0 (a point, such as an epicentre), and a "
                                        "zone needs an area: open the incident yourself with a radius you choose."),
                       "/alert/info/area/circle")
    if geocode_map():
        return _refuse("no_area", N_("The alert's areas have no polygon or circle, and none of their CAP-CP location "
                                     "codes is in the configured mapping: there is no zone to find who is affected."),
                       "/alert/info/area")
    return _refuse("no_area", N_("The alert's areas have no polygon or circle, and no mapping of CAP-CP location codes "
                                 "is configured (CAP_GEOCODE_MAP): there is no zone to find who is affected."),
                   "/alert/info/area")


def geocode_map() -> dict[str, Zone]:
    path = current_app.config.get("CAP_GEOCODE_MAP")
    if not path:
        return {}
    target = Path(path)
    return _load_geocode_map(str(target), target.stat().st_mtime if target.exists() else 0.0)


@lru_cache(maxsize=2)
def _load_geocode_map(path: str, _mtime: float) -> dict[str, Zone]:
    """{code: Zone} from a GeoJSON FeatureCollection keyed by each feature's id or
    properties.code. Read once per file version."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    found = {}
    for feature in data.get("features") or []:
        code = feature.get("id") or (feature.get("properties") or {}).get("code")
        if code is not None and feature.get("geometry"):
            found[str(code)] = parse_geojson(feature["geometry"])
    return found


def _geo_refusal(err: GeoError) -> Outcome:
    return Outcome("refused", reasons=[Problem("/alert/info/area", err.code, err.message, err.params)])


# --------------------------------------------------------------------------- acting


def _message(alert: CapAlert, incident: Incident, source: str, action: str, notes: list[str],
             texts: dict | None) -> CapMessage:
    message = CapMessage(incident_id=incident.id, sender=alert.sender, identifier=alert.identifier, sent=alert.sent,
                         sent_text=alert.sent_text, status=alert.status, msg_type=alert.msg_type, source=source,
                         action=action, notes=notes or None, texts=texts)
    db_session().add(message)
    db_session().flush()
    audit.record("cap.ingested", "incident", incident.id, outcome=action, msg_type=alert.msg_type,
                 source=_source_kind(source), cap_message_id=message.id, notes=notes or None)
    return message


def _draft_alert(incident: Incident, texts: dict) -> Alert | None:
    """A draft safety check with the message's texts, when it gave both languages."""
    if not all(texts.get(f) for f in alert_service.TEXT_FIELDS):
        return None
    user = acting_user()
    alert = Alert(incident_id=incident.id, kind="safety_check", status="draft", channels=list(alert_service.CHANNELS),
                  created_by_id=user.id if user else None, **{f: texts[f] for f in alert_service.TEXT_FIELDS})
    db_session().add(alert)
    db_session().flush()
    audit.record("alert.composed", "alert", alert.id, incident_id=incident.id, channels=alert.channels,
                 kind=alert.kind, source="cap")
    return alert


def _open(alert: CapAlert, source: str, notes: list[str]) -> Outcome:
    try:
        zone, zone_notes = zone_for(alert)
    except GeoError as err:
        return _geo_refusal(err)
    if zone is None:
        return _no_zone(zone_notes)
    texts, text_notes = texts_for(alert)
    notes = notes + text_notes + zone_notes
    start, end = window_for(alert)
    title_en, title_fr = titles_for(alert)
    incident = incident_service.create_incident(title_en, zone, start, end, commit=False, title_fr=title_fr)
    _message(alert, incident, source, "opened", notes, texts)
    draft = _draft_alert(incident, texts)
    db_session().commit()
    return Outcome("opened", incident_id=incident.id, alert_id=draft.id if draft else None, notes=notes)


def _update(alert: CapAlert, previous: CapMessage, source: str) -> Outcome:
    incident = previous.incident
    texts, text_notes = texts_for(alert)
    if incident.status == "closed" or any(a.status in SENT_STATES for a in incident.alerts):
        notes = ["incident_closed" if incident.status == "closed" else "alert_already_sent"]
        _message(alert, incident, source, "recorded", notes + text_notes, texts)
        db_session().commit()
        return Outcome("recorded", incident_id=incident.id, notes=notes)
    try:
        zone, notes = zone_for(alert)
    except GeoError as err:
        return _geo_refusal(err)
    if zone is None:
        notes.append("zone_kept")
    else:
        _replace_zone(incident, zone)
    notes += text_notes
    incident.title_en, incident.title_fr = titles_for(alert)
    incident.starts_at, incident.ends_at = window_for(alert)
    draft = None
    if not text_notes:
        for existing in incident.alerts:  # unsent drafts take the new wording, and need approval again
            for name in alert_service.TEXT_FIELDS:
                setattr(existing, name, texts[name])
            existing.status, existing.approved_by_id, existing.approved_at = "draft", None, None
            draft = existing
        if draft is None:
            draft = _draft_alert(incident, texts)
    _message(alert, incident, source, "updated", notes, texts)
    db_session().commit()
    return Outcome("updated", incident_id=incident.id, alert_id=draft.id if draft else None, notes=notes)


def _replace_zone(incident: Incident, zone: Zone) -> None:
    spec = zones_service.make_spec(zone, 1)
    incident.zones.clear()
    db_session().flush()
    incident.zones.append(IncidentZone(severity=1, zone_geojson=zone.to_geojson(), zone_source=zone.source(),
                                       zone_note=zone.note))
    incident.zone_geojson, incident.zone_source, incident.zone_note = (
        zones_service.union_geojson([spec]), zone.source(), zone.note)


def _cancel(alert: CapAlert, previous: CapMessage, source: str) -> Outcome:
    incident = previous.incident
    if incident.status == "closed":
        _message(alert, incident, source, "recorded", ["incident_closed"], None)
        db_session().commit()
        return Outcome("recorded", incident_id=incident.id, notes=["incident_closed"])
    if any(a.status in SENT_STATES for a in incident.alerts):
        _message(alert, incident, source, "recorded", ["cancel_after_send"], None)
        db_session().commit()
        return Outcome("recorded", incident_id=incident.id, notes=["cancel_after_send"])
    incident.status, incident.closed_at = "closed", utcnow()
    audit.record("incident.closed", "incident", incident.id, reason="cap_cancel")
    _message(alert, incident, source, "cancelled", [], None)
    db_session().commit()
    return Outcome("cancelled", incident_id=incident.id)


# --------------------------------------------------------------------------- the incident page


def draft_texts(incident: Incident) -> dict[str, str] | None:
    """The latest CAP wording of an incident that has no alert yet, for the compose form
    (a language the message lacked stays empty for the coordinator to write)."""
    if incident.alerts:
        return None
    latest = next((m for m in reversed(incident.cap_messages) if m.texts), None)
    return dict(latest.texts) if latest else None
