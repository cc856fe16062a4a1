"""An Atom (RFC 4287) index of CAP alerts: one entry per alert, linking to its CAP document.

Partners' CAP aggregators poll such an index and fetch the CAP documents it links to
(`type="application/cap+xml"`), as they do for national alerting services' feeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass
class Entry:
    id: str  # the alert's CAP identifier
    title: str
    updated: datetime
    cap_url: str
    summary: str | None = None


def _time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent, name: str, text: str | None = None, **attrs):
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", **attrs)
    if text is not None:
        element.text = text
    return element


def index(*, feed_id: str, title: str, self_url: str, author: str, entries: list[Entry],
          updated: datetime | None = None) -> bytes:
    """The Atom feed as UTF-8 bytes; `updated` defaults to the newest entry's time."""
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    newest = max((e.updated for e in entries), default=None, key=lambda m: _time(m))
    _sub(feed, "updated", _time(updated or newest or datetime.now(timezone.utc)))
    _sub(_sub(feed, "author"), "name", author)
    _sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    for item in entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", item.id)
        _sub(entry, "title", item.title)
        _sub(entry, "updated", _time(item.updated))
        _sub(entry, "link", rel="alternate", href=item.cap_url, type="application/cap+xml")
        if item.summary:
            _sub(entry, "summary", item.summary)
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
