"""GDACS RSS: earthquakes (EQ), tropical cyclones (TC), floods (FL), volcanoes (VO),
droughts (DR) and wildfires (WF), with a Green/Orange/Red alert level.

An event is `eventtype` + `eventid` ("EQ1200043"); GDACS publishes a new `episodeid` when it
revises an event (a cyclone's new forecast, a new earthquake estimate), so a new episode is
an update of the same event, never a new one. `gdacs:bbox` is "lonmin lonmax latmin latmax";
GeoRSS points and polygons are "lat lon".

An event that disappears from the feed is not deleted. GDACS's RSS lists the current events
and its 24-hour and 7-day feeds drop older ones as they age, so absence from the next poll
says nothing about the event except that it is no longer new; deleting on absence would
withdraw every real earthquake a day later and tell the officers on call it was retracted.
Only an explicit removal signal in the feed withdraws an event (USGS `status: "deleted"`, a
CAP `Cancel`), and GDACS's RSS carries none: `gdacs:iscurrent` false means the event is
over, not that it was wrong, so a GDACS event read here is always `active`, and the poller
never compares one poll's list with the previous one.
"""
from __future__ import annotations

from babel.core import get_global

from hazards.events import FeedError, HazardEvent, as_float, parse_time
from hazards.xmlread import child, children, local, parse_xml, text

KINDS = {"EQ": "earthquake", "TC": "cyclone", "FL": "flood", "VO": "volcano", "DR": "drought",
         "WF": "wildfire", "TS": "tsunami"}
LEVELS = {"green": "green", "orange": "orange", "red": "red"}


def parse(body: bytes | str) -> list[HazardEvent]:
    root = parse_xml(body)
    channel = child(root, "channel") if local(root.tag) == "rss" else None
    if channel is None:
        raise FeedError("GDACS feed is not RSS 2.0 (no rss/channel)")
    events = []
    for item in children(channel, "item"):
        event = _event(item)
        if event is not None:
            events.append(event)
    return events


def alpha2(iso3: str | None) -> str | None:
    """ISO 3166-1 alpha-3 to alpha-2 (CLDR's territory aliases), None when unknown."""
    if not iso3:
        return None
    codes = get_global("territory_aliases").get(iso3.strip().upper())
    return codes[0] if codes and len(codes[0]) == 2 else None


def _event(item) -> HazardEvent | None:
    event_type = (text(item, "eventtype") or "").upper()
    event_id = text(item, "eventid")
    if not event_type or not event_id:
        guid = text(item, "guid") or ""
        event_type, event_id = guid[:2].upper(), guid[2:]
    if not event_type or not event_id:
        return None
    lat, lon = _point(item)
    start = parse_time(text(item, "fromdate")) or parse_time(text(item, "pubDate"))
    if start is None:
        return None
    updated = (parse_time(text(item, "datemodified")) or parse_time(text(item, "pubDate")) or start)
    severity = child(item, "severity")
    magnitude = as_float(severity.get("value")) if severity is not None and event_type == "EQ" else None
    country = alpha2(text(item, "iso3"))
    return HazardEvent(
        source="gdacs", source_id=f"{event_type}{event_id}", kind=KINDS.get(event_type, "other"),
        title=text(item, "title") or f"{event_type} {event_id}",
        time=start, updated=updated, ends=parse_time(text(item, "todate")),
        lat=lat, lon=lon, magnitude=magnitude,
        alert_level=LEVELS.get((text(item, "alertlevel") or "").lower()),
        bbox=_bbox(text(item, "bbox")), shape=_polygon(item),
        countries=[country] if country else [],
        link=text(item, "link"), document_url=text(item, "cap"),
        episode=text(item, "episodeid"),
        status="active",
    )


def _point(item) -> tuple[float | None, float | None]:
    point = child(item, "Point")
    if point is not None:
        lat, lon = as_float(text(point, "lat")), as_float(text(point, "long"))
        if lat is not None and lon is not None:
            return lat, lon
    parts = (text(item, "point") or "").split()
    if len(parts) == 2:
        return as_float(parts[0]), as_float(parts[1])
    return None, None


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    parts = [as_float(p) for p in (value or "").split()]
    if len(parts) != 4 or any(p is None for p in parts):
        return None
    lon_min, lon_max, lat_min, lat_max = parts
    if not (-90 <= lat_min <= lat_max <= 90):
        return None
    return (lon_min, lat_min, lon_max, lat_max)


def _polygon(item) -> dict | None:
    """A GeoRSS polygon ("lat lon lat lon ...") as a GeoJSON Polygon, when present."""
    rings = []
    for element in children(item, "polygon"):
        numbers = [as_float(n) for n in (element.text or "").split()]
        if len(numbers) < 8 or len(numbers) % 2 or any(n is None for n in numbers):
            continue
        ring = [[numbers[i + 1], numbers[i]] for i in range(0, len(numbers), 2)]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        rings.append([ring])
    if not rings:
        return None
    return {"type": "MultiPolygon", "coordinates": rings}
