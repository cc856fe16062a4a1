"""Bulk CSV import (the DESIGN.md contract): good rows in, bad rows reported by physical
line number with a reason, no traveller half-written, re-import is an idempotent upsert."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from registry.errors import ImportFileError
from registry.importer import COLUMNS, import_csv
from registry.models import Stop, Traveller, Trip
from registry.service import StopInput, TravellerInput, register_traveller

HEADER = ",".join(COLUMNS)
ANNE = "A-1,Anne,Smith,anne@example.org,+1 613 555 0101,en"
LUC = "B-2,Luc,Côté,luc@example.org,+1 514 555 0102,fr"

GOOD = f"""{HEADER}
{ANNE},FR,Paris,,,2025-06-01,2025-06-05
{LUC},PE,,,,2025-07-01,2025-07-10
{ANNE},IT,,41.9,12.5,2025-06-05,2025-06-09
"""


def run(session, text: str, **kwargs):
    report = import_csv(session, io.StringIO(text), **kwargs)
    session.commit()
    return report


def count(session, table) -> int:
    return session.scalar(select(func.count()).select_from(table))


def stops_of(session, external_id: str) -> list[tuple]:
    rows = session.execute(
        select(Stop.country, Stop.place, Stop.precision, Stop.lat, Stop.lon, Stop.arrival, Stop.departure)
        .join(Traveller, Traveller.id == Stop.traveller_id)
        .where(Traveller.external_id == external_id).order_by(Stop.arrival))
    return [tuple(r) for r in rows]


def test_good_file_imports_every_traveller_with_rows_grouped_by_external_id(backend_session):
    s = backend_session
    report = run(s, GOOD)
    assert (report.travellers_created, report.travellers_updated, report.stops, report.errors) == (2, 0, 3, [])
    anne = s.scalar(select(Traveller).where(Traveller.external_id == "A-1"))
    assert (anne.phone, anne.language, anne.source) == ("+16135550101", "en", "import")
    assert len(anne.trips) == 1
    paris, rome = stops_of(s, "A-1")
    assert paris[:3] == ("FR", "Paris", "city") and paris[3] == pytest.approx(48.85, abs=0.1)
    assert rome[:5] == ("IT", None, "point", 41.9, 12.5)
    [peru] = stops_of(s, "B-2")
    assert peru[:5] == ("PE", None, "country", None, None)
    assert count(s, Trip) == 2


def test_bad_rows_are_reported_by_physical_line_with_a_reason_and_good_rows_still_imported(backend_session):
    s = backend_session
    text = f"""{HEADER}
{ANNE},FR,Paris,,,2025-06-01,2025-06-05
C-3,Cara,Roy,not-an-email,+1 613 555 0103,en,FR,,,,2025-06-01,2025-06-02
D-4,Dan,Lee,dan@example.org,613 555 0104,en,FR,,,,2025-06-01,2025-06-02
E-5,Eve,Roy,eve@example.org,,en,XX,,,,2025-06-01,2025-06-02
F-6,Fay,Roy,fay@example.org,,de,FR,,,,2025-06-01,2025-06-02
G-7,Gus,Roy,gus@example.org,,en,FR,,,,01/06/2025,2025-06-02
H-8,Hal,Roy,hal@example.org,,en,FR,,,,2025-06-05,2025-06-01
I-9,Ida,Roy,ida@example.org,,en,FR,Atlantis,,,2025-06-01,2025-06-02
J-10,Jo,Roy,jo@example.org,,en,FR,,48.8,,2025-06-01,2025-06-02
,Kim,Roy,kim@example.org,,en,FR,,,,2025-06-01,2025-06-02
L-12,Lou,Roy,lou@example.org,,en,FR,,,2025-06-01
"""
    report = run(s, text)
    reasons = dict(report.errors)
    assert sorted(reasons) == list(range(3, 13))
    assert reasons[3].startswith("email:")
    assert "international format" in reasons[4]
    assert "Unknown country code XX" in reasons[5]
    assert reasons[6].startswith("language:")
    assert reasons[7].startswith("arrival:") and "YYYY-MM-DD" in reasons[7]
    assert reasons[8].startswith("departure:") and "before the arrival" in reasons[8]
    assert reasons[9] == "place: We could not find Atlantis in France."
    assert reasons[10].startswith("lon:") and "both latitude and longitude" in reasons[10]
    assert reasons[11].startswith("external_id:")
    assert "Expected 12 fields, found 10" in reasons[12]
    assert report.travellers_created == 1
    assert s.scalars(select(Traveller.external_id)).all() == ["A-1"]


def test_line_numbers_count_physical_lines_including_quoted_newlines_and_blank_lines(backend_session):
    s = backend_session
    text = f"""{HEADER}
A-1,"Anne
Marie",Smith,anne@example.org,,en,FR,,,,2025-06-01,2025-06-02

B-2,Bob,Smith,bob@example.org,,en,ZZ,,,,2025-06-01,2025-06-02
"""
    report = run(s, text)
    assert [line for line, _ in report.errors] == [5]
    assert report.rows == 2


def test_one_bad_row_keeps_its_whole_traveller_out_and_the_other_rows_say_why(backend_session):
    s = backend_session
    text = f"""{HEADER}
{ANNE},FR,Paris,,,2025-06-01,2025-06-05
{LUC},PE,,,,2025-07-01,2025-07-10
{ANNE},IT,Atlantis,,,2025-06-05,2025-06-09
{ANNE},ES,,,,2025-06-09,2025-06-12
"""
    report = run(s, text)
    reasons = dict(report.errors)
    assert sorted(reasons) == [2, 4, 5]
    assert "Atlantis" in reasons[4]
    assert reasons[2] == reasons[5] == "external_id: Skipped: line 4 of the same traveller (A-1) has an error."
    assert s.scalars(select(Traveller.external_id)).all() == ["B-2"]
    assert count(s, Stop) == 1 and count(s, Trip) == 1


def test_conflicting_personal_fields_for_one_external_id_are_an_error(backend_session):
    s = backend_session
    text = f"""{HEADER}
{ANNE},FR,,,,2025-06-01,2025-06-05
A-1,Anne,Smith,anne.smith@example.org,+1 613 555 0101,fr,IT,,,,2025-06-05,2025-06-09
"""
    report = run(s, text)
    reasons = dict(report.errors)
    assert "email,language differ from line 2" in reasons[3]
    assert "Skipped: line 3" in reasons[2]
    assert count(s, Traveller) == 0


def test_the_same_person_written_differently_is_not_a_conflict(backend_session):
    s = backend_session
    text = f"""{HEADER}
{ANNE},FR,,,,2025-06-01,2025-06-05
A-1, Anne ,Smith,anne@EXAMPLE.org,+1 (613) 555-0101,EN,IT,,,,2025-06-05,2025-06-09
"""
    report = run(s, text)
    assert report.errors == [] and report.stops == 2


def test_reimporting_the_same_file_changes_nothing(backend_session):
    s = backend_session
    run(s, GOOD)
    before = s.execute(select(Stop.id, Stop.trip_id, Stop.arrival).order_by(Stop.id)).all()
    stamps = s.execute(select(Traveller.id, Traveller.updated_at).order_by(Traveller.id)).all()
    report = run(s, GOOD)
    assert (report.travellers_created, report.travellers_updated, report.travellers_unchanged,
            report.stops, report.errors) == (0, 0, 2, 0, [])
    assert s.execute(select(Stop.id, Stop.trip_id, Stop.arrival).order_by(Stop.id)).all() == before
    assert s.execute(select(Traveller.id, Traveller.updated_at).order_by(Traveller.id)).all() == stamps
    assert count(s, Traveller) == 2 and count(s, Trip) == 2


def test_reimport_with_changes_updates_the_traveller_and_replaces_the_imported_stops(backend_session):
    s = backend_session
    run(s, GOOD)
    changed = f"""{HEADER}
A-1,Anne,Smith-Jones,anne@example.org,+1 613 555 0101,en,ES,Madrid,,,2025-08-01,2025-08-03
{LUC},PE,,,,2025-07-01,2025-07-10
"""
    report = run(s, changed)
    assert (report.travellers_created, report.travellers_updated, report.travellers_unchanged,
            report.stops) == (0, 1, 1, 1)
    anne = s.scalar(select(Traveller).where(Traveller.external_id == "A-1"))
    s.refresh(anne)
    assert anne.family_name == "Smith-Jones"
    assert [st[:3] for st in stops_of(s, "A-1")] == [("ES", "Madrid", "city")]
    assert count(s, Trip) == 2


def test_reimport_leaves_trips_the_traveller_registered_themselves_alone(backend_session):
    s = backend_session
    own = register_traveller(s, TravellerInput(
        given_name="Anne", family_name="Smith", email="anne@example.org", language="en",
        external_id="A-1", stops=[StopInput(country="JP", arrival="2025-09-01")]))
    s.commit()
    report = run(s, GOOD)
    assert report.travellers_updated == 1
    assert len(stops_of(s, "A-1")) == 3
    assert s.scalar(select(func.count()).select_from(Trip).where(Trip.traveller_id == own.id)) == 2


@pytest.mark.parametrize("header,missing,extra", [
    (HEADER.replace(",lon", ""), "lon", None),
    (HEADER + ",notes", None, "notes"),
    (HEADER.replace("given_name", "first_name"), "given_name", "first_name"),
])
def test_wrong_header_is_refused_and_nothing_is_imported(backend_session, header, missing, extra):
    s = backend_session
    text = GOOD.replace(HEADER, header, 1)
    with pytest.raises(ImportFileError) as info:
        import_csv(s, io.StringIO(text))
    s.commit()
    assert info.value.params.get("missing") == missing
    assert info.value.params.get("extra") == extra
    assert count(s, Traveller) == 0


def test_header_columns_may_come_in_any_order_and_case_after_a_byte_order_mark(backend_session):
    s = backend_session
    row = "A-1,Anne,Smith,anne@example.org,,en,FR,,,,2025-06-01,2025-06-02".split(",")
    header = ",".join(c.upper() for c in reversed(COLUMNS))
    report = run(s, f"\ufeff{header}\n{','.join(reversed(row))}\n")
    assert report.errors == [] and report.travellers_created == 1
    assert s.scalar(select(Traveller.email)) == "anne@example.org"


def test_repeated_column_is_refused(backend_session):
    with pytest.raises(ImportFileError) as info:
        import_csv(backend_session, io.StringIO(HEADER + ",email\n"))
    assert "email" in str(info.value)


def test_empty_file_is_refused(backend_session):
    with pytest.raises(ImportFileError):
        import_csv(backend_session, io.StringIO(""))


def test_progress_reports_every_byte_read(backend_session):
    seen: list[int] = []
    run(backend_session, GOOD, progress=seen.append)
    assert sum(seen) == len(GOOD.encode("utf-8"))
