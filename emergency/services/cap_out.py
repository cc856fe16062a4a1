"""CAP-CP out: each alert as a CAP 1.2 message in the Canadian profile, and an Atom index.

Partners (other governments' alerting systems, aggregators, broadcasters) read our alerts
the way they read anyone's: a CAP document per alert and an index of recent ones.

* identifier `CAP_IDENTIFIER_PREFIX:<alert id>`, sender `CAP_SENDER`, sent = when the send
  began, in UTC ("-00:00");
* status `Actual` for an alert that went out, `Draft` for one not sent yet (CAP's "not
  actionable" status, so a partner previewing it cannot mistake it for a real alert), and
  `Exercise` for an exercise incident once exercises exist;
* the first alert of an incident is msgType `Alert`; any later one is an `Update` whose
  `<references>` name every earlier alert of the incident that went out. An all-clear is
  such an Update with responseType `AllClear` and urgency `Past`: in CAP, `Cancel` retracts
  a message sent in error, which an all-clear is not;
* an en-CA and an fr-CA `<info>` with the alert's own texts, and one `<area>` per zone of
  the incident (its label, or "Zone N"): a circle as a CAP circle, anything else as its
  outer rings (see `cap.write` on holes and simplification).
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from cap import atom, write
from cap.model import Area, Circle, Info, Reference
from emergency.core.database import db_session
from emergency.core.models import Alert, Incident
from emergency.services.zones import zone_label

PUBLISHED = ("sending", "sent")
LOCALES = {"en": "en-CA", "fr": "fr-CA"}
# kind: (urgency, severity, certainty, responseType)
PROFILE = {
    "safety_check": ("Immediate", "Severe", "Likely", "Assess"),
    "information": ("Expected", "Moderate", "Likely", "Monitor"),
    "all_clear": ("Past", "Minor", "Observed", "AllClear"),
}
ATOM_LIMIT = 50


def identifier(alert_id: int) -> str:
    return f"{current_app.config['CAP_IDENTIFIER_PREFIX']}:{alert_id}"


def sent_at(alert: Alert):
    return alert.sent_at or alert.created_at


def _event(kind: str) -> str:
    if kind == "all_clear":
        return _("Consular all-clear")
    if kind == "information":
        return _("Consular information")
    return _("Consular safety check")


def _areas(incident: Incident, lang: str) -> list[Area]:
    zones = list(incident.zones) or [None]
    areas = []
    for number, zone in enumerate(zones, start=1):
        source = (zone.zone_source if zone is not None else incident.zone_source) or {}
        geojson = zone.zone_geojson if zone is not None else incident.zone_geojson
        description = zone_label(zone, lang) or _("Zone %(number)s", number=number)
        if source.get("kind") == "circle":
            areas.append(Area(description, circles=[Circle(float(source["lat"]), float(source["lon"]),
                                                           float(source["radius_km"]))]))
            continue
        polygons = geojson["coordinates"] if geojson.get("type") == "MultiPolygon" else [geojson["coordinates"]]
        areas.append(Area(description, polygons=[[tuple(p[:2]) for p in polygon[0]] for polygon in polygons]))
    return areas


def _info(alert: Alert, lang: str) -> Info:
    urgency, severity, certainty, response = PROFILE.get(alert.kind, PROFILE["safety_check"])
    with force_locale(lang):
        return Info(
            language=LOCALES[lang], categories=["Safety"], event=_event(alert.kind), urgency=urgency,
            severity=severity, certainty=certainty, response_types=[response],
            effective=sent_at(alert), expires=alert.incident.ends_at,
            sender_name=_("Consular emergency response"),
            headline=getattr(alert, f"subject_{lang}")[:160], description=getattr(alert, f"body_{lang}"),
            web=current_app.config["PUBLIC_BASE_URL"] + "/", areas=_areas(alert.incident, lang))


def earlier_alerts(alert: Alert) -> list[Alert]:
    """The incident's alerts that went out before this one, oldest first."""
    return [a for a in alert.incident.alerts if a.id < alert.id and a.status in PUBLISHED]


def alert_document(alert: Alert) -> bytes:
    """The alert as CAP 1.2 (CAP-CP), UTF-8."""
    config = current_app.config
    earlier = earlier_alerts(alert)
    if getattr(alert.incident, "exercise", False):
        status = "Exercise"
    else:
        status = "Actual" if alert.status in PUBLISHED else "Draft"
    return write.build(
        identifier=identifier(alert.id), sender=config["CAP_SENDER"], sent=sent_at(alert), status=status,
        msg_type="Update" if earlier else "Alert",
        references=[Reference(config["CAP_SENDER"], identifier(a.id), write.format_time(sent_at(a)))
                    for a in earlier],
        infos=[_info(alert, "en"), _info(alert, "fr")])


def atom_index(alert_url) -> bytes:
    """The latest alerts that went out (newest first) as an Atom index; `alert_url(id)`
    is the public URL of an alert's CAP document."""
    config = current_app.config
    alerts = db_session().scalars(select(Alert).where(Alert.status.in_(PUBLISHED))
                                  .order_by(Alert.sent_at.desc(), Alert.id.desc()).limit(ATOM_LIMIT))
    entries = [atom.Entry(id=identifier(a.id), title=f"{a.subject_en} / {a.subject_fr}", updated=sent_at(a),
                          cap_url=alert_url(a.id)) for a in alerts]
    return atom.index(feed_id=f"{config['CAP_IDENTIFIER_PREFIX']}:index",
                      title=_("Consular alerts (CAP)"), self_url=alert_url(None), author=config["CAP_SENDER"],
                      entries=entries)
