from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "cap"

# A small valid CAP-CP alert; tests break one thing at a time with str.replace.
VALID = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>urn:test:quake:1</identifier>
  <sender>trigger@example.org</sender>
  <sent>2024-05-01T12:00:00-00:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <code>profile:CAP-CP:0.4</code>
  <info>
    <language>en-CA</language>
    <category>Geo</category>
    <event>earthquake</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Strong earthquake near Lisbon</headline>
    <description>A magnitude 6.8 earthquake struck near Lisbon.</description>
    <instruction>Stay away from damaged buildings.</instruction>
    <area>
      <areaDesc>Lisbon area</areaDesc>
      <polygon>38.5,-9.5 38.5,-8.9 38.9,-8.9 38.9,-9.5 38.5,-9.5</polygon>
    </area>
  </info>
  <info>
    <language>fr-CA</language>
    <category>Geo</category>
    <event>tremblement de terre</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Fort séisme près de Lisbonne</headline>
    <description>Un séisme de magnitude 6,8 a frappé près de Lisbonne.</description>
    <instruction>Éloignez-vous des bâtiments endommagés.</instruction>
    <area>
      <areaDesc>Région de Lisbonne</areaDesc>
      <polygon>38.5,-9.5 38.5,-8.9 38.9,-8.9 38.9,-9.5 38.5,-9.5</polygon>
    </area>
  </info>
</alert>
"""


def samples() -> list[Path]:
    return sorted(p for p in DATA.iterdir() if p.suffix in (".xml", ".cap", ".edxlde"))


@pytest.fixture
def valid_cap() -> str:
    return VALID
