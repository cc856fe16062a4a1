"""Read and check CAP 1.2 documents from outside: uploads, trigger systems, feeds.

The parser is locked down: no DTD is loaded, no entity is expanded, nothing is fetched from
the network, libxml2's limits on depth and text size stay on (`huge_tree=False`), and the
document's size is checked before parsing. CAP has no DOCTYPE, so a document that declares
one is refused outright: that refuses the entity tricks (external entities reading local
files, "billion laughs") whatever the parser would have done with them.

Each alert is checked in two passes. The first applies CAP's rules with messages a person
can act on (a required element missing, a value outside its list, a time without its zone,
a polygon that is not closed or has fewer than four pairs, a circle that is not "lat,lon
radius"); these are also the rules the schema does not say. When that pass finds nothing,
the OASIS CAP 1.2 schema (`cap/schema/CAP-v1.2.xsd`, byte-identical to the one OASIS
publishes) has the last word on everything else (element order, unknown elements, types).

XML signatures (IPAWS and several national services sign their alerts) are kept as they
are and not verified: the schema allows them, and the alert is read the same way. A trust
decision is the transport's (a bearer token or an HMAC on the trigger API).

Problems are `Problem(path, code, message, params)`: `message` is an English template marked
with `N_` and filled with `params`, so the application translates it for its reader.
"""
from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from lxml import etree

from cap.model import (
    CAP12_NS,
    CATEGORIES,
    CERTAINTIES,
    MSG_TYPES,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    Alert,
    Area,
    Circle,
    Info,
    NamedValue,
    Reference,
)
from common.i18n import N_

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "CAP-v1.2.xsd"
MAX_BYTES = 5 * 1024 * 1024  # the largest real alert seen (a national polygon) is under 1 MB
MAX_ALERTS = 100  # alerts in one EDXL-DE envelope
OLD_CAP = {"urn:oasis:names:tc:emergency:cap:1.1": "1.1", "http://www.incident.com/cap/1.0": "1.0"}
EDXL_DE_NS = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")
_TIME_NO_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|z)?$")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_PAIR = re.compile(rf"^({_NUMBER}),({_NUMBER})$")
_FORBIDDEN_IN_ID = re.compile(r"[\s,<&]")


class Problem(NamedTuple):
    """Why (part of) a document was refused; `message % params` is the English text."""

    path: str
    code: str
    message: str
    params: dict

    def text(self) -> str:
        return self.message % self.params if self.params else self.message


class CapError(ValueError):
    """A document refused, with every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.text()}" for p in problems))


def _q(name: str) -> str:
    return f"{{{CAP12_NS}}}{name}"


# --------------------------------------------------------------------------- entry point


def read(document: bytes | str, max_bytes: int = MAX_BYTES) -> list[Alert]:
    """Every CAP 1.2 alert in `document` (one at the root, or several in EDXL-DE), checked.

    Raises CapError listing every problem; nothing is returned unless all alerts pass."""
    if isinstance(document, str):
        document = document.encode("utf-8")
    if not document or not document.strip():
        raise CapError([Problem("/", "empty", N_("The document is empty."), {})])
    if len(document) > max_bytes:
        raise CapError([Problem("/", "too_large", N_("The document is too large (%(size)d bytes; the limit is "
                                                     "%(limit)d)."), {"size": len(document), "limit": max_bytes})])
    root = parse_xml(document)
    elements = _alert_elements(root)
    problems: list[Problem] = []
    alerts: list[Alert] = []
    for index, element in enumerate(elements):
        prefix = "/alert" if len(elements) == 1 and element is root else f"/alert[{index + 1}]"
        found = check(element, prefix)
        if not found:
            found = schema_problems(element, prefix)
        if found:
            problems += found
        else:
            alerts.append(_alert(element))
    if problems:
        raise CapError(problems)
    return alerts


def parse_xml(document: bytes) -> etree._Element:
    """The root element of a document from outside, parsed safely (see the module's notes)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             dtd_validation=False, remove_pis=True, collect_ids=False)
    try:
        root = etree.fromstring(document, parser)
    except etree.XMLSyntaxError as err:
        raise CapError([Problem("/", "not_xml", N_("The document is not well-formed XML: %(detail)s"),
                                {"detail": str(err)[:200]})]) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise CapError([Problem("/", "doctype", N_("The document declares a DOCTYPE; CAP documents have none, "
                                                   "and we do not read entity declarations."), {})])
    return root


def _alert_elements(root: etree._Element) -> list[etree._Element]:
    namespace = etree.QName(root).namespace
    if root.tag == _q("alert"):
        return [root]
    if etree.QName(root).localname == "alert" and namespace in OLD_CAP:
        raise CapError([Problem("/alert", "old_version",
                                N_("This is a CAP %(version)s alert; we read CAP 1.2 only (the version every "
                                   "alerting authority publishes today)."), {"version": OLD_CAP[namespace]})])
    if namespace == EDXL_DE_NS:
        found = list(root.iter(_q("alert")))
        if not found:
            raise CapError([Problem("/", "no_alert", N_("The EDXL-DE envelope carries no CAP 1.2 alert."), {})])
        if len(found) > MAX_ALERTS:
            raise CapError([Problem("/", "too_many_alerts", N_("The envelope carries %(count)d alerts; the limit "
                                                               "is %(limit)d."),
                                    {"count": len(found), "limit": MAX_ALERTS})])
        return found
    raise CapError([Problem("/", "not_cap", N_("This is not a CAP 1.2 alert: its root element is %(tag)s, not "
                                               "alert in the namespace %(namespace)s."),
                            {"tag": etree.QName(root).localname, "namespace": CAP12_NS})])


# --------------------------------------------------------------------------- CAP's rules


def _children(element, name: str) -> list:
    return element.findall(_q(name))


def _text(element, name: str) -> str | None:
    child = element.find(_q(name))
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, code: str, message: str, **params) -> None:
        self.problems.append(Problem(path, code, message, params))

    def required(self, element, name: str, path: str) -> str | None:
        value = _text(element, name)
        if value is None:
            self.add(f"{path}/{name}", "missing", N_("%(element)s is required."), element=name)
        return value

    def one_of(self, value: str | None, allowed: tuple, name: str, path: str) -> None:
        if value is not None and value not in allowed:
            self.add(path, "not_allowed", N_("%(element)s must be one of %(allowed)s, not %(value)s."),
                     element=name, allowed=", ".join(allowed), value=value[:50])

    def time(self, value: str | None, name: str, path: str) -> None:
        if value is None:
            return
        if _TIME_NO_ZONE.match(value):
            self.add(path, "time_zone", N_("%(element)s must be a time with its zone, such as "
                                           "2024-05-01T14:30:00-05:00 (CAP does not allow Z): %(value)s."),
                     element=name, value=value[:40])
        elif not _TIME.match(value) or _parse_time(value) is None:
            self.add(path, "bad_time", N_("%(element)s is not a CAP date and time "
                                          "(YYYY-MM-DDThh:mm:ss+hh:mm): %(value)s."), element=name, value=value[:40])


def check(element, path: str = "/alert") -> list[Problem]:
    """CAP 1.2's rules for one <alert>, beyond (and before) the schema."""
    c = _Checker()
    for name in ("identifier", "sender"):
        value = c.required(element, name, path)
        if value and _FORBIDDEN_IN_ID.search(value):
            c.add(f"{path}/{name}", "bad_identifier",
                  N_("%(element)s must not contain spaces, commas, < or &."), element=name)
    c.time(c.required(element, "sent", path), "sent", f"{path}/sent")
    c.one_of(c.required(element, "status", path), STATUSES, "status", f"{path}/status")
    c.one_of(c.required(element, "msgType", path), MSG_TYPES, "msgType", f"{path}/msgType")
    scope = c.required(element, "scope", path)
    c.one_of(scope, SCOPES, "scope", f"{path}/scope")
    if scope == "Restricted" and _text(element, "restriction") is None:
        c.add(f"{path}/restriction", "missing", N_("%(element)s is required."), element="restriction")
    if scope == "Private" and _text(element, "addresses") is None:
        c.add(f"{path}/addresses", "missing", N_("%(element)s is required."), element="addresses")
    references = _text(element, "references")
    for token in (references or "").split():
        parts = token.split(",")
        if len(parts) != 3 or not all(parts):
            c.add(f"{path}/references", "bad_reference",
                  N_("Each reference must be written \"sender,identifier,sent\": %(value)s."), value=token[:120])
        else:
            c.time(parts[2], "references", f"{path}/references")
    for i, info in enumerate(_children(element, "info"), start=1):
        _check_info(c, info, f"{path}/info[{i}]")
    return c.problems


def _check_info(c: _Checker, info, path: str) -> None:
    categories = _children(info, "category")
    if not categories:
        c.add(f"{path}/category", "missing", N_("%(element)s is required."), element="category")
    for category in categories:
        c.one_of((category.text or "").strip(), CATEGORIES, "category", f"{path}/category")
    for response in _children(info, "responseType"):
        c.one_of((response.text or "").strip(), RESPONSE_TYPES, "responseType", f"{path}/responseType")
    c.required(info, "event", path)
    c.one_of(c.required(info, "urgency", path), URGENCIES, "urgency", f"{path}/urgency")
    c.one_of(c.required(info, "severity", path), SEVERITIES, "severity", f"{path}/severity")
    c.one_of(c.required(info, "certainty", path), CERTAINTIES, "certainty", f"{path}/certainty")
    for name in ("effective", "onset", "expires"):
        c.time(_text(info, name), name, f"{path}/{name}")
    for i, area in enumerate(_children(info, "area"), start=1):
        area_path = f"{path}/area[{i}]"
        c.required(area, "areaDesc", area_path)
        for j, polygon in enumerate(_children(area, "polygon"), start=1):
            _check_polygon(c, polygon.text or "", f"{area_path}/polygon[{j}]")
        for j, circle in enumerate(_children(area, "circle"), start=1):
            _check_circle(c, circle.text or "", f"{area_path}/circle[{j}]")


def _pairs(c: _Checker, text: str, path: str) -> list[tuple[float, float]] | None:
    """(lat, lon) pairs as CAP writes them, or None after reporting the first bad one."""
    pairs = []
    for token in text.split():
        match = _PAIR.match(token)
        if not match:
            c.add(path, "bad_pair", N_("%(value)s is not a \"latitude,longitude\" pair."), value=token[:50])
            return None
        lat, lon = float(match.group(1)), float(match.group(2))
        if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
            c.add(path, "out_of_range", N_("%(value)s is out of range: CAP writes latitude (-90 to 90) first, "
                                           "then longitude (-180 to 180)."), value=token[:50])
            return None
        pairs.append((lat, lon))
    return pairs


def _check_polygon(c: _Checker, text: str, path: str) -> None:
    pairs = _pairs(c, text, path)
    if pairs is None:
        return
    if len(pairs) < 4:
        c.add(path, "too_few_pairs", N_("A polygon needs at least 4 pairs, the last repeating the first; it has "
                                        "%(count)d."), count=len(pairs))
    elif pairs[0] != pairs[-1]:
        c.add(path, "not_closed", N_("The polygon is not closed: its last pair must repeat the first."))


def _check_circle(c: _Checker, text: str, path: str) -> None:
    parts = text.split()
    if len(parts) != 2 or _pairs(c, parts[0], path) is None:
        if len(parts) != 2:
            c.add(path, "bad_circle", N_("A circle is written \"latitude,longitude radius\" (radius in km)."))
        return
    try:
        radius = float(parts[1])
    except ValueError:
        radius = -1.0
    if not radius >= 0.0 or radius == float("inf"):
        c.add(path, "bad_circle", N_("A circle is written \"latitude,longitude radius\" (radius in km)."))


# --------------------------------------------------------------------------- the schema


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema (trusted: shipped with the package)."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def schema_problems(element, path: str = "/alert") -> list[Problem]:
    """What the OASIS schema says about one <alert> (alone, as its own document)."""
    alone = copy.deepcopy(element)
    validator = schema()
    if validator.validate(etree.ElementTree(alone)):
        return []
    problems = []
    for error in list(validator.error_log)[:20]:
        where = re.sub(r"\{[^}]*\}", "", error.path or "").replace("/alert", path, 1) or path
        problems.append(Problem(where, "schema", N_("Not valid against the CAP 1.2 schema: %(detail)s"),
                                {"detail": re.sub(r"\{[^}]*\}", "", error.message)[:300]}))
    return problems


# --------------------------------------------------------------------------- to dataclasses


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _named(element, name: str) -> list[NamedValue]:
    return [NamedValue(_text(e, "valueName") or "", _text(e, "value") or "") for e in _children(element, name)]


def _cap_pairs(text: str) -> list[tuple[float, float]]:
    return [(float(lat), float(lon)) for lat, lon in (token.split(",") for token in text.split())]


def _area(element) -> Area:
    polygons = [[(lon, lat) for lat, lon in _cap_pairs(p.text or "")] for p in _children(element, "polygon")]
    circles = []
    for circle in _children(element, "circle"):
        centre, radius = (circle.text or "").split()
        [(lat, lon)] = _cap_pairs(centre)
        circles.append(Circle(lat, lon, float(radius)))
    return Area(description=_text(element, "areaDesc") or "", polygons=polygons, circles=circles,
                geocodes=_named(element, "geocode"))


def _info(element) -> Info:
    return Info(
        language=_text(element, "language") or "en-US",
        categories=[(e.text or "").strip() for e in _children(element, "category")],
        event=_text(element, "event") or "",
        urgency=_text(element, "urgency") or "Unknown",
        severity=_text(element, "severity") or "Unknown",
        certainty=_text(element, "certainty") or "Unknown",
        response_types=[(e.text or "").strip() for e in _children(element, "responseType")],
        event_codes=_named(element, "eventCode"),
        effective=_parse_time(_text(element, "effective")),
        onset=_parse_time(_text(element, "onset")),
        expires=_parse_time(_text(element, "expires")),
        sender_name=_text(element, "senderName"),
        headline=_text(element, "headline"),
        description=_text(element, "description"),
        instruction=_text(element, "instruction"),
        web=_text(element, "web"),
        areas=[_area(a) for a in _children(element, "area")],
    )


def _alert(element) -> Alert:
    sent_text = _text(element, "sent") or ""
    references = [Reference(*token.split(",")) for token in (_text(element, "references") or "").split()]
    return Alert(
        identifier=_text(element, "identifier") or "",
        sender=_text(element, "sender") or "",
        sent=_parse_time(sent_text),
        sent_text=sent_text,
        status=_text(element, "status") or "",
        msg_type=_text(element, "msgType") or "",
        scope=_text(element, "scope") or "",
        source=_text(element, "source"),
        note=_text(element, "note"),
        codes=[(e.text or "").strip() for e in _children(element, "code")],
        references=references,
        infos=[_info(i) for i in _children(element, "info")],
        signed=element.find(f"{{{DSIG_NS}}}Signature") is not None,
    )
