from __future__ import annotations

import pytest

from cap.model import Circle
from cap.read import CapError, read
from tests.cap.conftest import DATA, VALID, samples

CAP11 = {"us_nws_2010-08-30_flashfloodwatch_cap11__google_weather.cap",
         "us_nws_2021-12-27_blizzard_cap11__nws-5c2cf27b1f56885d61654dc47fa411d5.xml"}


@pytest.mark.parametrize("path", samples(), ids=lambda p: p.name[:40])
def test_every_sample_is_read_or_refused_with_a_reason(path):
    if path.name in CAP11:
        with pytest.raises(CapError) as caught:
            read(path.read_bytes())
        assert [p.code for p in caught.value.problems] == ["old_version"]
    else:
        alerts = read(path.read_bytes())
        assert alerts and all(a.identifier and a.sender and a.sent.tzinfo for a in alerts)


def test_a_cap_cp_alert_has_its_english_and_french_blocks():
    [alert] = read((DATA / "ca_naads_2019-01-09_wind_PelmorexNAADS_WindWarning.xml").read_bytes())
    assert alert.is_cap_cp and alert.msg_type == "Update" and alert.signed
    assert alert.info_for("en").headline == "wind warning in effect"
    assert alert.info_for("fr").headline == "avertissement de vent en vigueur"
    assert [r.identifier for r in alert.references][-1] == "urn:oid:2.49.0.1.124.2177735585.2019"


def test_polygons_come_out_as_lon_lat_and_circles_by_name():
    [alert] = read(VALID)
    ring = alert.infos[0].areas[0].polygons[0]
    assert ring[0] == (-9.5, 38.5) and ring[0] == ring[-1]
    [earthquake] = read((DATA / "us_usgs_2012-10-14_earthquake_ISO-8859-1_circle__google_earthquake-iso8859-1.cap")
                        .read_bytes())
    circle = earthquake.infos[0].areas[0].circles[0]
    assert circle == Circle(lat=12.747, lon=-88.783, radius_km=0.0)  # an epicentre: CAP allows radius 0


def test_signed_alerts_are_read_with_the_signature_kept_unverified():
    [alert] = read((DATA / "us_ipaws_2019-04-19_cancel_signed__ipaws-5e6dd9de023f1930ef6548d9.xml").read_bytes())
    assert alert.signed and alert.msg_type == "Cancel" and alert.references


def test_alerts_inside_an_edxl_de_envelope_are_all_read():
    alerts = read((DATA / "au_nswrfs_edxlde_2011-10-17__google_bushfire_valid.edxlde").read_bytes())
    assert len(alerts) == 7 and all(a.infos[0].areas[0].circles for a in alerts)


def _codes(document) -> list[tuple[str, str]]:
    with pytest.raises(CapError) as caught:
        read(document)
    return [(p.path, p.code) for p in caught.value.problems]


def test_a_missing_required_element_is_named():
    assert ("/alert/scope", "missing") in _codes(VALID.replace("<scope>Public</scope>", ""))
    assert ("/alert/info[2]/certainty", "missing") in _codes(
        VALID.replace("<certainty>Observed</certainty>\n    <headline>Fort", "<headline>Fort"))


def test_a_value_outside_its_list_is_refused():
    assert _codes(VALID.replace("<status>Actual</status>", "<status>Real</status>")) == [("/alert/status", "not_allowed")]
    assert ("/alert/info[1]/urgency", "not_allowed") in _codes(VALID.replace("Immediate", "Now", 1))


def test_an_unclosed_or_short_polygon_is_refused():
    unclosed = VALID.replace("38.9,-9.5 38.5,-9.5</polygon>", "38.9,-9.5 38.6,-9.5</polygon>", 1)
    assert _codes(unclosed) == [("/alert/info[1]/area[1]/polygon[1]", "not_closed")]
    short = VALID.replace("38.5,-9.5 38.5,-8.9 38.9,-8.9 38.9,-9.5 38.5,-9.5", "38.5,-9.5 38.5,-8.9 38.5,-9.5", 1)
    assert _codes(short) == [("/alert/info[1]/area[1]/polygon[1]", "too_few_pairs")]


def test_lon_lat_order_is_caught_when_it_cannot_be_a_latitude():
    swapped = VALID.replace("<polygon>38.5,-9.5", "<polygon>-100.5,38.5", 1)
    assert ("/alert/info[1]/area[1]/polygon[1]", "out_of_range") in _codes(swapped)


def test_a_bad_circle_is_refused():
    document = VALID.replace("</areaDesc>", "</areaDesc>\n      <circle>38.7,-9.1</circle>", 1)
    assert ("/alert/info[1]/area[1]/circle[1]", "bad_circle") in _codes(document)


def test_a_time_without_its_zone_is_refused():
    assert _codes(VALID.replace("2024-05-01T12:00:00-00:00", "2024-05-01T12:00:00Z")) == [("/alert/sent", "time_zone")]
    assert _codes(VALID.replace("2024-05-01T12:00:00-00:00", "2024-05-01T12:00:00")) == [("/alert/sent", "time_zone")]


def test_what_only_the_schema_knows_is_refused_by_the_schema():
    misplaced = VALID.replace("<code>profile:CAP-CP:0.4</code>", "").replace(
        "<scope>Public</scope>", "<scope>Public</scope><unknown>x</unknown>")
    problems = _codes(misplaced)
    assert problems and {code for _path, code in problems} == {"schema"}


def test_an_external_entity_is_never_read():
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
           + VALID.split("?>", 1)[1].replace("Strong earthquake near Lisbon", "&xxe;"))
    with pytest.raises(CapError) as caught:
        read(xxe)
    assert [p.code for p in caught.value.problems] == ["doctype"]
    assert "root:" not in str(caught.value)


def test_billion_laughs_is_refused_without_expanding():
    lol = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                                     for i in range(1, 10)]
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE alert [{"".join(lol)}]>\n<alert>&lol9;</alert>'
    with pytest.raises(CapError) as caught:
        read(bomb)
    assert [p.code for p in caught.value.problems] in (["doctype"], ["not_xml"])


def test_garbage_and_oversize_and_other_xml_are_refused():
    assert _codes(b"not xml at all") == [("/", "not_xml")]
    assert _codes(b"") == [("/", "empty")]
    assert _codes(b"<feed xmlns='http://www.w3.org/2005/Atom'/>") == [("/", "not_cap")]
    with pytest.raises(CapError) as caught:
        read(VALID, max_bytes=100)
    assert caught.value.problems[0].code == "too_large"
