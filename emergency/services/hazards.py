"""Hazard events from the feeds: stored, matched across sources, given a zone and a live
headcount, and run through the coordinators' trigger rules.

`apply_event` is the one entry point (feed pollers, CAP ingestion): it upserts the event
(unique per source and source id; an unchanged version is a no-op), links a second
source's report of the same earthquake to the first (`hazards.dedupe`), computes its zone
(`hazards.zone`) and counts the registered travellers in it over the event's window with
the same function the incident pages use, then fires every enabled rule the event matches,
once per (rule, event):

- notify: the on-call officers are told (email and SMS, their language) with the headcount;
- draft: an incident with the event's zone and a bilingual title, and a draft safety check
  with the default texts, wait for a coordinator; the on-call officers are told with a link;
- send: as draft, then the alert is sent through `alerts.send_alert`, which still asks for
  approval above APPROVAL_THRESHOLD; only while an administrator has marked the rule
  `auto_send_allowed`.

A later version of an event moves its draft incident's zone while no alert of it has gone
out. A deleted or cancelled event is marked and the on-call officers are told; its incident
is never deleted (people may already have answered).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import Alert, Hazard, Incident, IncidentZone, TriggerFiring, TriggerRule
from emergency.core.timeutil import as_utc
from emergency.jobs.staff_notifications import queue_notify
from geo.sources import zone_from_stored
from hazards import dedupe
from hazards.events import ALERT_LEVELS, CAP_SEVERITIES, HazardEvent
from hazards.zone import ZoneModel, event_zone
from registry.affected import count_affected

log = logging.getLogger(__name__)

KIND_LABELS = {
    "earthquake": N_("Earthquake"), "tsunami": N_("Tsunami"), "cyclone": N_("Tropical cyclone"),
    "flood": N_("Flood"), "volcano": N_("Volcano"), "drought": N_("Drought"), "wildfire": N_("Wildfire"),
    "weather": N_("Severe weather"), "other": N_("Hazard"),
}
MATCH_WINDOW = timedelta(hours=1)  # candidates for cross-source matching: events this close in time


@dataclass
class Applied:
    """What applying one event did (for the poller's log and the benchmark)."""

    hazard_id: int
    created: bool = False
    changed: bool = False
    fired: int = 0
    incident_id: int | None = None


def zone_model() -> ZoneModel:
    config = current_app.config
    geocodes = {}
    path = config.get("HAZARD_GEOCODE_FILE")
    if path:
        geocodes = json.loads(Path(path).read_text(encoding="utf-8"))
    return ZoneModel.from_setting(config.get("HAZARD_EQ_RADIUS"), corridor_km=config.get("HAZARD_CORRIDOR_KM", 150.0),
                                  geocodes=geocodes)


def window(event: HazardEvent) -> tuple[datetime, datetime | None]:
    """Who counts: anyone whose stay overlaps the event, from its start to its end (open
    when the source gives none, as for an earthquake: arrivals after it are also asked)."""
    return as_utc(event.time), as_utc(event.ends) if event.ends else None


def _find(session, event: HazardEvent) -> Hazard | None:
    ids = [event.source_id, *event.aliases] if event.source == "usgs" else [event.source_id]
    return session.scalars(select(Hazard).where(Hazard.source == event.source, Hazard.source_id.in_(ids))
                           .order_by(Hazard.id).limit(1)).first()


def _primary(session, event: HazardEvent, own_id: int | None) -> Hazard | None:
    """The earlier event of another source that is the same disaster (see `hazards.dedupe`)."""
    if event.kind not in dedupe.MATCHED_KINDS or event.time is None:
        return None
    start, end = as_utc(event.time) - MATCH_WINDOW, as_utc(event.time) + MATCH_WINDOW
    rows = session.scalars(select(Hazard).where(
        Hazard.kind == event.kind, Hazard.source != event.source, Hazard.merged_into_id.is_(None),
        Hazard.occurred_at >= start, Hazard.occurred_at <= end, Hazard.id != (own_id or 0))).all()
    candidates = [(row, _as_event(row)) for row in rows]
    return dedupe.best_match(event, candidates)


def _as_event(row: Hazard) -> HazardEvent:
    return HazardEvent(source=row.source, source_id=row.source_id, kind=row.kind, title=row.title,
                       time=as_utc(row.occurred_at), lat=row.lat, lon=row.lon, magnitude=row.magnitude)


def apply_event(event: HazardEvent, feed_id: int | None = None, evaluate: bool = True) -> Applied:
    """Store `event` and act on it (see the module). Commits."""
    session = db_session()
    row = _find(session, event)
    created = row is None
    if row is not None and row.version == event.version and row.status == event.status:
        return Applied(row.id, incident_id=row.incident_id)
    zone = None
    try:
        zone = event_zone(event, zone_model())
    except Exception as exc:  # a bad shape from a feed must not stop the others: keep the event, zoneless
        log.warning("no zone for %s %s: %s", event.source, event.source_id, exc)
    now = utcnow()
    if row is None:
        row = Hazard(source=event.source, source_id=event.source_id[:500], feed_id=feed_id, first_seen=now)
        session.add(row)
    previous_status = row.status
    row.kind, row.title = event.kind, (event.title or event.source_id)[:500]
    row.magnitude, row.alert_level, row.severity = event.magnitude, event.alert_level, event.severity
    row.lat, row.lon = event.lat, event.lon
    row.occurred_at, row.ends_at = as_utc(event.time), as_utc(event.ends) if event.ends else None
    row.version, row.status, row.updated_at = event.version[:300], event.status, now
    row.summary = event.summary()
    row.zone_geojson = zone.to_geojson() if zone else None
    row.zone_source = zone.source() if zone else None
    countries = set(event.countries) | (set(zone.touched_countries()) if zone else set())
    row.countries = sorted(countries)
    try:
        session.flush()
    except IntegrityError:  # another poller stored it a moment ago: theirs wins, apply again
        session.rollback()
        return apply_event(event, feed_id, evaluate)
    if created:
        primary = _primary(session, event, row.id)
        if primary is not None:
            row.merged_into_id = primary.id
    start, end = window(event)
    row.affected = count_affected(session, zone, start, end) if zone else 0
    audit.record("trigger.event_created" if created else "trigger.event_updated", "hazard", row.id,
                 source=row.source, kind=row.kind, affected=row.affected, merged_into=row.merged_into_id)
    session.commit()
    result = Applied(row.id, created=created, changed=True, incident_id=row.incident_id)
    if row.status != "active":
        if previous_status == "active" and not created:
            _withdrawn(row)
        return result
    if not created and row.incident_id and zone is not None:
        _move_draft_zone(row, zone, start, end)
    if evaluate and row.merged_into_id is None:
        result.fired = evaluate_rules(row, event)
        result.incident_id = row.incident_id
    return result


# --------------------------------------------------------------------------- rules


def _rank(value: str | None, scale: tuple[str, ...], lower: bool = True) -> int:
    if value is None:
        return -1
    wanted = value.lower() if lower else value
    options = [s.lower() for s in scale] if lower else list(scale)
    return options.index(wanted) if wanted in options else -1


def matches(rule: TriggerRule, row: Hazard) -> bool:
    """Whether the event is of the rule's source and kind and reaches every threshold it sets
    (the headcount is checked by the caller, once, for all rules)."""
    if not rule.enabled or row.status != "active":
        return False
    if rule.source not in ("any", row.source):
        return False
    if rule.kinds and row.kind not in rule.kinds:
        return False
    if rule.min_magnitude is not None and (row.magnitude is None or row.magnitude < rule.min_magnitude):
        return False
    if rule.min_alert_level and _rank(row.alert_level, ALERT_LEVELS) < _rank(rule.min_alert_level, ALERT_LEVELS):
        return False
    if rule.min_severity and _rank(row.severity, CAP_SEVERITIES) < _rank(rule.min_severity, CAP_SEVERITIES):
        return False
    if rule.countries and not set(rule.countries) & set(row.countries or []):
        return False
    return (row.affected or 0) >= (rule.min_affected or 0)


def evaluate_rules(row: Hazard, event: HazardEvent | None = None) -> int:
    """Fire every enabled rule that matches; returns how many fired now."""
    session = db_session()
    rules = session.scalars(select(TriggerRule).where(TriggerRule.enabled.is_(True)).order_by(TriggerRule.id)).all()
    fired = 0
    for rule in rules:
        if not matches(rule, row):
            continue
        firing = TriggerFiring(rule_id=rule.id, hazard_id=row.id, action=rule.action, affected=row.affected or 0)
        session.add(firing)
        try:
            session.flush()
        except IntegrityError:  # fired for this event already
            session.rollback()
            continue
        fire(rule, row, firing)
        fired += 1
    return fired


def fire(rule: TriggerRule, row: Hazard, firing: TriggerFiring) -> None:
    """Do the rule's action for the event; commits, then tells the on-call officers."""
    action = rule.action
    if action == "send" and not rule.auto_send_allowed:
        action = "draft"  # an administrator has not (or no longer) allowed this rule to send
        audit.record("trigger.send_refused", "trigger_rule", rule.id, hazard_id=row.id)
    if action in ("draft", "send"):
        incident = row.incident or _open_incident(row)
        firing.incident_id = incident.id
        alert = _draft_alert(incident)
        firing.alert_id = alert.id if alert else None
    entry = audit.record("trigger.fired", "trigger_rule", rule.id, hazard_id=row.id, rule_action=action,
                         affected=firing.affected, incident_id=firing.incident_id)
    db_session().commit()
    if action == "send" and firing.alert_id:
        _send(rule, db_session().get(Alert, firing.alert_id))
    queue_notify("rule_fired", row.id, firing.id)
    return entry


def titles(row: Hazard) -> dict[str, str]:
    """The incident's title in each language: the kind in that language, then the source's
    title in that language when its CAP document had one (an en or fr `<info>` headline),
    else its own title (USGS and GDACS publish theirs in English only)."""
    own = (row.summary or {}).get("titles") or {}
    out = {}
    for lang in ("en", "fr"):
        with force_locale(lang):
            out[lang] = _("%(kind)s: %(title)s", kind=_(KIND_LABELS.get(row.kind, KIND_LABELS["other"])),
                          title=own.get(lang) or row.title)
    return out


def _open_incident(row: Hazard) -> Incident:
    from emergency.services.incidents import create_incident

    names = {lang: title if len(title) <= 200 else title[:199] + "…" for lang, title in titles(row).items()}
    zone = zone_from_stored(row.zone_geojson, row.zone_source)
    incident = create_incident(names["en"], zone, as_utc(row.occurred_at), as_utc(row.ends_at) if row.ends_at else None,
                               title_fr=names["fr"] if names["fr"] != names["en"] else None)
    row.incident_id = incident.id
    audit.record("trigger.incident_opened", "incident", incident.id, hazard_id=row.id)
    db_session().flush()
    return incident


def _draft_alert(incident: Incident) -> Alert | None:
    """A draft safety check with the default texts, once per incident (a second rule or a
    second source firing for the same incident finds it)."""
    from emergency.services import alerts

    existing = db_session().scalars(select(Alert).where(Alert.incident_id == incident.id, Alert.kind == "safety_check")
                                    .order_by(Alert.id).limit(1)).first()
    if existing is not None:
        return existing
    en, fr = incident.title_in("en"), incident.title_in("fr")
    texts = {k: v for k, v in alerts.default_texts(SimpleNamespace(title=en)).items() if k.endswith("_en")}
    texts.update({k: v for k, v in alerts.default_texts(SimpleNamespace(title=fr)).items() if k.endswith("_fr")})
    alert = Alert(incident_id=incident.id, kind="safety_check", status="draft", channels=list(alerts.CHANNELS), **texts)
    db_session().add(alert)
    db_session().flush()
    audit.record("alert.composed", "alert", alert.id, incident_id=incident.id, channels=list(alerts.CHANNELS),
                 kind="safety_check", by_rule=True)
    return alert


def _send(rule: TriggerRule, alert: Alert) -> None:
    """Send at once, through the same gate as a coordinator: a mass send waits for approval."""
    from emergency.services import alerts

    try:
        count = alerts.reach(alert)
        if alerts.needs_approval(alert, count):
            alerts.request_approval(alert, count)
            audit.record("trigger.awaiting_approval", "alert", alert.id, rule_id=rule.id)
            db_session().commit()
            return
        alerts.send_alert(alert)
        audit.record("trigger.sent", "alert", alert.id, rule_id=rule.id)
        db_session().commit()
    except alerts.AlertError as exc:
        db_session().rollback()
        audit.record("trigger.send_failed", "alert", alert.id, rule_id=rule.id, reason=exc.message)
        db_session().commit()


def _move_draft_zone(row: Hazard, zone, start, end) -> None:
    """A new version of the event moves its incident's zone while nothing has been sent."""
    incident = row.incident
    if incident is None or incident.status != "active":
        return
    if any(a.status in ("sending", "sent") for a in incident.alerts):
        return
    geojson, source = zone.to_geojson(), zone.source()
    if incident.zone_geojson == geojson:
        return
    incident.zone_geojson, incident.zone_source = geojson, source
    incident.starts_at, incident.ends_at = start, end
    incident.zones.clear()
    db_session().flush()
    incident.zones.append(IncidentZone(severity=1, zone_geojson=geojson, zone_source=source))
    audit.record("trigger.zone_updated", "incident", incident.id, hazard_id=row.id, affected=row.affected)
    db_session().commit()


def _withdrawn(row: Hazard) -> None:
    """The source deleted or cancelled the event: the on-call officers are told when it had
    fired a rule or opened an incident; nothing is deleted."""
    session = db_session()
    had_firing = session.scalars(select(TriggerFiring.id).where(TriggerFiring.hazard_id == row.id).limit(1)).first()
    entry = audit.record("trigger.withdrawn", "hazard", row.id, status=row.status, incident_id=row.incident_id)
    session.flush()
    session.commit()
    if had_firing or row.incident_id:
        queue_notify("hazard_withdrawn", row.id, entry.id)


# --------------------------------------------------------------------------- listing


def recent_events(limit: int = 50, offset: int = 0) -> list[Hazard]:
    return list(db_session().scalars(select(Hazard).order_by(Hazard.first_seen.desc(), Hazard.id.desc())
                                     .limit(limit).offset(offset)))


def rules() -> list[TriggerRule]:
    return list(db_session().scalars(select(TriggerRule).order_by(TriggerRule.id)))
