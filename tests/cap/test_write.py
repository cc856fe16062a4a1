from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from lxml import etree

from cap import atom, write
from cap.model import Area, Circle, Info, Reference
from cap.read import parse_xml, read, schema_problems

SENT = datetime(2024, 5, 1, 12, 0, 5, 123, tzinfo=timezone.utc)


def _info(language: str, areas: list[Area]) -> Info:
    return Info(language=language, categories=["Safety"], event="x", urgency="Immediate", severity="Severe",
                certainty="Likely", headline="h", description="d", areas=areas)


def test_utc_is_written_minus_zero_and_other_zones_as_offsets():
    assert write.format_time(SENT) == "2024-05-01T12:00:05-00:00"
    assert write.format_time(SENT.astimezone(timezone(timedelta(hours=-5, minutes=-30)))) == "2024-05-01T06:30:05-05:30"


def test_a_built_alert_is_valid_cap_and_reads_back():
    ring = [(-9.5, 38.5), (-8.9, 38.5), (-8.9, 38.9), (-9.5, 38.5)]
    document = write.build(identifier="urn:test:1", sender="consular.example", sent=SENT, msg_type="Update",
                           references=[Reference("consular.example", "urn:test:0", "2024-05-01T11:00:00-00:00")],
                           infos=[_info("en-CA", [Area("A", polygons=[ring], circles=[Circle(38.7, -9.1, 25)])]),
                                  _info("fr-CA", [Area("A", polygons=[ring])])])
    assert schema_problems(parse_xml(document)) == []
    [alert] = read(document)
    assert alert.is_cap_cp and alert.references[0].identifier == "urn:test:0"
    assert alert.infos[0].areas[0].polygons[0] == ring and alert.infos[0].areas[0].circles[0].radius_km == 25


def test_a_huge_polygon_is_simplified_and_stays_closed_and_valid():
    ring = [(10 + 5 * math.cos(2 * math.pi * i / 5000), 45 + 3 * math.sin(2 * math.pi * i / 5000)) for i in range(5000)]
    ring.append(ring[0])
    document = write.build(identifier="urn:test:2", sender="s", sent=SENT, infos=[_info("en-CA", [Area("big", [ring])])])
    [alert] = read(document)
    written = alert.infos[0].areas[0].polygons[0]
    assert 4 <= len(written) <= write.MAX_POINTS and written[0] == written[-1]


def test_the_atom_index_lists_each_alert_with_its_cap_link():
    document = atom.index(feed_id="urn:feed", title="Alerts", self_url="https://x/cap.atom", author="Consular",
                          entries=[atom.Entry("urn:test:1", "One", SENT, "https://x/1/cap"),
                                   atom.Entry("urn:test:2", "Two", SENT + timedelta(hours=1), "https://x/2/cap")])
    feed = etree.fromstring(document)
    ns = {"a": atom.ATOM_NS}
    assert feed.findtext("a:updated", namespaces=ns) == "2024-05-01T13:00:05Z"
    assert [e.findtext("a:id", namespaces=ns) for e in feed.findall("a:entry", ns)] == ["urn:test:1", "urn:test:2"]
    assert feed.find("a:entry/a:link", ns).get("type") == "application/cap+xml"
