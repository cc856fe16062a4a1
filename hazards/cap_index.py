"""CAP index feeds: an Atom or RSS list of current alerts, each entry pointing to its full
CAP document (MeteoAlarm, NWS, USGS, NY-Alert), and EDXL-DE distributions that carry the
CAP alerts themselves.

Index entries often repeat the alert's key fields as `cap:*` elements (event, severity,
msgType, polygon, geocode); they are read into a `HazardEvent` so that an index is useful
even before its documents are fetched. CAP writes coordinates "lat,lon" (GeoRSS "lat lon"),
and an Update or Cancel refers to earlier messages by identifier. The full document goes
to `emergency.services.cap_in.ingest`, which owns CAP validation.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from hazards.events import FeedError, HazardEvent, as_float, parse_time
from hazards.xmlread import child, children, local, parse_xml, text

_MAGNITUDE = re.compile(r"^\s*M\s*(\d+(?:\.\d+)?)\b")  # USGS titles: "M 5.3, Tonga"
CAP_TYPES = ("application/cap+xml", "application/common-alerting-protocol+xml")
_KIND_WORDS = (  # the first word found in the event name decides the kind
    ("tsunami", "tsunami"), ("earthquake", "earthquake"), ("quake", "earthquake"),
    ("hurricane", "cyclone"), ("typhoon", "cyclone"), ("cyclone", "cyclone"), ("tropical storm", "cyclone"),
    ("flood", "flood"), ("volcan", "volcano"), ("ash", "volcano"), ("fire", "wildfire"), ("drought", "drought"),
)


@dataclass
class CapEntry:
    """One index entry: the event its summary describes, where its CAP document is, and
    the document itself when the feed embeds it (EDXL-DE)."""

    event: HazardEvent
    document_url: str | None = None
    document: bytes | None = None
    actual: bool = True  # cap:status Actual (Test, Exercise, System and Draft never trigger)


def parse(body: bytes | str) -> list[CapEntry]:
    root = parse_xml(body)
    name = local(root.tag)
    if name == "feed":
        return [e for e in (_atom_entry(x) for x in children(root, "entry")) if e is not None]
    if name == "rss":
        channel = child(root, "channel")
        if channel is None:
            raise FeedError("RSS feed without a channel")
        return [e for e in (_rss_item(x) for x in children(channel, "item")) if e is not None]
    if name == "EDXLDistribution":
        return _edxl(root)
    if name == "alert":
        return [_alert_entry(root)]
    raise FeedError(f"not a CAP index feed (root element {name!r})")


def kind_of(event_name: str | None, category: str | None = None) -> str:
    words = (event_name or "").lower()
    if _MAGNITUDE.match(event_name or ""):
        return "earthquake"
    for word, kind in _KIND_WORDS:
        if word in words:
            return kind
    return {"met": "weather", "fire": "wildfire"}.get((category or "").lower(), "other")


def _summary(entry: ET.Element, source_id: str, title: str, link: str | None, document_url: str | None,
             fallback_time) -> CapEntry:
    event_name = text(entry, "event")
    msg_type = text(entry, "msgType") or text(entry, "message_type")
    status = text(entry, "status")
    polygons = [p.text.strip() for p in children(entry, "polygon") if p.text and p.text.strip()]
    circles = [c.text.strip() for c in children(entry, "circle") if c.text and c.text.strip()]
    lat = lon = None
    point = (text(entry, "point") or "").split()
    if len(point) == 2:
        lat, lon = as_float(point[0]), as_float(point[1])
    when = (parse_time(text(entry, "onset")) or parse_time(text(entry, "effective"))
            or parse_time(text(entry, "sent")) or fallback_time)
    identifier = text(entry, "identifier")
    magnitude = _MAGNITUDE.match(title or "")
    event = HazardEvent(
        source="cap", source_id=source_id, kind=kind_of(event_name or title, text(entry, "category")),
        title=title or event_name or source_id, time=when,
        updated=parse_time(text(entry, "updated")) or parse_time(text(entry, "sent")) or when,
        ends=parse_time(text(entry, "expires")), lat=lat, lon=lon,
        magnitude=as_float(magnitude.group(1)) if magnitude else None,
        severity=text(entry, "severity"), cap_polygons=polygons, cap_circles=circles,
        geocodes=_geocodes(entry), link=link, document_url=document_url,
        status="cancelled" if (msg_type or "").lower() == "cancel" else "active",
        msg_type=msg_type, aliases=[identifier] if identifier and identifier != source_id else [],
    )
    return CapEntry(event, document_url, actual=status is None or status == "Actual")


def _geocodes(entry: ET.Element) -> list[tuple[str, str]]:
    """(valueName, value) pairs; NWS puts several pairs in one cap:geocode."""
    pairs = []
    for geocode in children(entry, "geocode"):
        name = None
        for item in geocode:
            if local(item.tag) == "valueName":
                name = (item.text or "").strip()
            elif local(item.tag) == "value" and name:
                pairs.append((name, (item.text or "").strip()))
    return pairs


def _atom_entry(entry: ET.Element) -> CapEntry | None:
    entry_id = text(entry, "id")
    if not entry_id:
        return None
    links = children(entry, "link")
    document = next((x.get("href") for x in links if x.get("type") in CAP_TYPES), None)
    alternate = next((x.get("href") for x in links if x.get("rel") in (None, "alternate") and x.get("href")), None)
    if document is None and "cap" in (alternate or "").lower():
        document = alternate  # NWS: the entry's only link is the CAP message
    when = parse_time(text(entry, "published")) or parse_time(text(entry, "updated"))
    if when is None:
        return None
    return _summary(entry, entry_id, text(entry, "title") or "", alternate, document, when)


def _rss_item(item: ET.Element) -> CapEntry | None:
    guid = text(item, "guid") or text(item, "link")
    when = parse_time(text(item, "pubDate"))
    if not guid or when is None:
        return None
    link = text(item, "link")
    enclosure = child(item, "enclosure")
    document = enclosure.get("url") if enclosure is not None and enclosure.get("type") in CAP_TYPES else link
    return _summary(item, guid, text(item, "title") or "", link, document, when)


def _edxl(root: ET.Element) -> list[CapEntry]:
    entries = []
    for content in root.iter():
        if local(content.tag) != "embeddedXMLContent":
            continue
        alert = next((x for x in content if local(x.tag) == "alert"), None)
        if alert is not None:
            entries.append(_alert_entry(alert))
    return entries


def _alert_entry(alert: ET.Element) -> CapEntry:
    """A whole CAP alert (embedded in EDXL-DE): its first info block and area summarised."""
    info = child(alert, "info")
    area = child(info, "area") if info is not None else None
    merged = ET.Element("entry")
    for part in (alert, info, area):
        if part is not None:
            merged.extend(x for x in part if local(x.tag) not in ("info", "area"))
    identifier = text(alert, "identifier") or ""
    entry = _summary(merged, identifier, text(merged, "headline") or text(merged, "event") or identifier,
                     None, None, parse_time(text(alert, "sent")))
    entry.event.references = (text(alert, "references") or "").split()
    entry.document = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return entry
