"""Reading feed XML safely and forgivingly.

The standard library's expat parser resolves no external entities and refuses entity
expansion attacks; feeds are read from bytes so that the declared encoding counts. A
byte-order mark that was itself re-encoded as UTF-8 (GDACS has served "\xef\xbb\xbf"
encoded twice, six bytes) is dropped before parsing, as is leading whitespace.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from hazards.events import FeedError

_BOMS = (b"\xc3\xaf\xc2\xbb\xc2\xbf", b"\xef\xbb\xbf")


def parse_xml(body: bytes | str) -> ET.Element:
    if isinstance(body, str):
        body = body.encode("utf-8")
    data = body.lstrip()
    for bom in _BOMS:
        while data.startswith(bom):
            data = data[len(bom):].lstrip()
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise FeedError(f"feed is not well-formed XML: {exc}") from None


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(element: ET.Element, name: str) -> ET.Element | None:
    """The first child whose local name is `name`, whatever its namespace."""
    for item in element:
        if local(item.tag) == name:
            return item
    return None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [item for item in element if local(item.tag) == name]


def text(element: ET.Element, name: str) -> str | None:
    found = child(element, name)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None
