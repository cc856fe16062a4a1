"""Write CAP 1.2 alerts following the Canadian profile (CAP-CP).

What the profile adds to plain CAP 1.2, and how it is written here:
* `<code>profile:CAP-CP:0.4</code>` names the profile;
* one `<info>` per language, English (en-CA) and French (fr-CA), each complete on its own
  (its areas repeated), so a reader that keeps one language loses nothing;
* times carry their zone, and UTC is written "-00:00" (CAP forbids "Z");
* an update or an all-clear names the messages it follows in `<references>`
  ("sender,identifier,sent" each).

Areas are polygons or circles; CAP polygons have no holes, so a zone's holes are left out
(the area is slightly larger, never smaller). A polygon of more than `MAX_POINTS` points
(a country's border) is simplified until it fits, keeping its outline within a few km,
because CAP readers and broadcast systems choke on multi-megabyte polygons.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lxml import etree
from shapely.geometry import Polygon

from cap.model import CAP12_NS, CAP_CP_PROFILE, Area, Info, Reference

MAX_POINTS = 500


def format_time(moment: datetime) -> str:
    """CAP's date and time: seconds, and the zone as +hh:mm or -hh:mm (UTC is -00:00)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.replace(microsecond=0)
    offset = moment.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _sub(parent, name: str, text: str | None = None):
    element = etree.SubElement(parent, f"{{{CAP12_NS}}}{name}")
    if text is not None:
        element.text = text
    return element


def _number(value: float) -> str:
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def polygon_text(ring: list[tuple[float, float]]) -> str:
    """A CAP polygon ("lat,lon" pairs, closed, at least four) from a (lon, lat) ring."""
    points = [(_number(lat), _number(lon)) for lon, lat in simplify_ring(ring)]
    deduped = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if deduped[0] != deduped[-1]:
        deduped.append(deduped[0])
    while len(deduped) < 4:  # a degenerate ring after rounding: repeat a point rather than refuse
        deduped.insert(1, deduped[0])
    return " ".join(f"{lat},{lon}" for lat, lon in deduped)


def simplify_ring(ring: list[tuple[float, float]], max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """`ring` unchanged when it is short enough; else simplified (Douglas-Peucker on
    degrees, the tolerance doubled until it fits)."""
    if len(ring) <= max_points:
        return list(ring)
    polygon = Polygon(ring)
    tolerance = 0.001
    simple = polygon
    while len(simple.exterior.coords) > max_points:
        simple = polygon.simplify(tolerance, preserve_topology=True)
        tolerance *= 2
    return [(x, y) for x, y in simple.exterior.coords]


def _area(parent, area: Area) -> None:
    element = _sub(parent, "area")
    _sub(element, "areaDesc", area.description)
    for ring in area.polygons:
        _sub(element, "polygon", polygon_text(ring))
    for circle in area.circles:
        _sub(element, "circle", f"{_number(circle.lat)},{_number(circle.lon)} {_number(circle.radius_km)}")
    for geocode in area.geocodes:
        code = _sub(element, "geocode")
        _sub(code, "valueName", geocode.name)
        _sub(code, "value", geocode.value)


def _info(parent, info: Info) -> None:
    element = _sub(parent, "info")
    _sub(element, "language", info.language)
    for category in info.categories or ["Safety"]:
        _sub(element, "category", category)
    _sub(element, "event", info.event)
    for response in info.response_types:
        _sub(element, "responseType", response)
    _sub(element, "urgency", info.urgency)
    _sub(element, "severity", info.severity)
    _sub(element, "certainty", info.certainty)
    for code in info.event_codes:
        event_code = _sub(element, "eventCode")
        _sub(event_code, "valueName", code.name)
        _sub(event_code, "value", code.value)
    for name in ("effective", "onset", "expires"):
        moment = getattr(info, name)
        if moment is not None:
            _sub(element, name, format_time(moment))
    for name, tag in (("sender_name", "senderName"), ("headline", "headline"), ("description", "description"),
                      ("instruction", "instruction"), ("web", "web")):
        value = getattr(info, name)
        if value:
            _sub(element, tag, value)
    for area in info.areas:
        _area(element, area)


def build(*, identifier: str, sender: str, sent: datetime, status: str = "Actual", msg_type: str = "Alert",
          scope: str = "Public", references: list[Reference] = (), infos: list[Info] = (), note: str | None = None,
          codes: tuple[str, ...] = (CAP_CP_PROFILE,)) -> bytes:
    """One CAP 1.2 <alert> as UTF-8 bytes with an XML declaration."""
    alert = etree.Element(f"{{{CAP12_NS}}}alert", nsmap={None: CAP12_NS})
    _sub(alert, "identifier", identifier)
    _sub(alert, "sender", sender)
    _sub(alert, "sent", format_time(sent))
    _sub(alert, "status", status)
    _sub(alert, "msgType", msg_type)
    _sub(alert, "scope", scope)
    for code in codes:
        _sub(alert, "code", code)
    if note:
        _sub(alert, "note", note)
    if references:
        _sub(alert, "references", " ".join(r.text() for r in references))
    for info in infos:
        _info(alert, info)
    return etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)
