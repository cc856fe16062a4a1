"""The SQLite affected set answers from an in-process index: it must never be out of date.

Every write to `stops` (insert, update, delete, cascades, another connection's commit, the
session's own uncommitted rows) must show in the very next answer.
"""
from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import sessionmaker

from geo.zones import parse_geojson
from registry import stop_index
from registry.affected import count_affected, find_affected
from registry.models import Stop, Traveller
from tests.registry.helpers import (
    END,
    OTTAWA,
    OTTAWA_300,
    START,
    TORONTO,
    add_stop,
    found,
    migrated_sqlite_engine,
)


def test_a_migrated_sqlite_database_answers_from_the_in_memory_index(session):
    add_stop(session, external_id="montreal")

    first = stop_index.current_index(session)
    second = stop_index.current_index(session)

    assert first is not None and first is second
    assert found(session) == ["montreal"]


def test_a_stop_added_after_a_query_is_in_the_next_answer(session):
    add_stop(session, external_id="montreal")
    assert count_affected(session, OTTAWA_300, START, END) == 1

    add_stop(session, point=OTTAWA, external_id="ottawa")

    assert found(session) == ["ottawa", "montreal"]
    assert count_affected(session, OTTAWA_300, START, END) == 2


def test_a_stop_moved_out_of_the_zone_leaves_the_answer(session):
    stop = add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    session.execute(update(Stop).where(Stop.id == stop.id).values(lat=TORONTO[0], lon=TORONTO[1]))
    session.commit()

    assert found(session) == []
    assert count_affected(session, OTTAWA_300, START, END) == 0


def test_a_stop_whose_dates_move_out_of_the_window_leaves_the_answer(session):
    stop = add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    session.execute(update(Stop).where(Stop.id == stop.id)
                    .values(arrival=date(2025, 4, 1), departure=None))
    session.commit()

    assert found(session) == []


def test_an_open_ended_stop_that_gets_a_departure_before_the_window_leaves_the_answer(session):
    stop = add_stop(session, dates=(date(2025, 1, 1), None), external_id="montreal")
    assert found(session) == ["montreal"]

    session.execute(update(Stop).where(Stop.id == stop.id).values(departure=date(2025, 3, 9)))
    session.commit()

    assert found(session) == []


def test_a_deleted_stop_leaves_the_answer(session):
    stop = add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    session.execute(delete(Stop).where(Stop.id == stop.id))
    session.commit()

    assert found(session) == []
    assert count_affected(session, OTTAWA_300, START, END) == 0


def test_deleting_a_traveller_removes_their_cascaded_stops_from_the_answer(session):
    stop = add_stop(session, external_id="montreal")
    assert count_affected(session, OTTAWA_300, START, END) == 1

    session.execute(delete(Traveller).where(Traveller.id == stop.traveller_id))
    session.commit()

    assert session.scalar(select(Stop.id).where(Stop.id == stop.id)) is None
    assert count_affected(session, OTTAWA_300, START, END) == 0


def test_a_country_only_stop_moved_to_another_country_leaves_the_answer(session):
    stop = add_stop(session, precision="country", point=None, external_id="somewhere-in-canada")
    assert found(session) == ["somewhere-in-canada"]

    session.execute(update(Stop).where(Stop.id == stop.id).values(country="FR"))
    session.commit()

    assert found(session) == []


def test_a_renamed_place_is_followed_by_the_index_and_shown(session):
    stop = add_stop(session, external_id="montreal")
    before = stop_index.current_index(session)

    session.execute(update(Stop).where(Stop.id == stop.id).values(place="Vieux-Montréal"))
    session.commit()

    after = stop_index.current_index(session)
    assert after is not before and after.made_by == stop_index.REPLAYED
    assert [r.place for r in find_affected(session, OTTAWA_300, START, END)] == ["Vieux-Montréal"]


def test_a_database_whose_trigger_ignores_places_is_read_directly(session):
    """A database migrated before 0010: its update trigger does not fire on a place, so an
    index could show a stale place; the answer comes from the file instead."""
    stop = add_stop(session, external_id="montreal")
    session.execute(text("DROP TRIGGER stops_version_update"))
    session.execute(text(
        "CREATE TRIGGER stops_version_update AFTER UPDATE OF id, lat, lon ON stops "
        "BEGIN UPDATE registry_version SET version = random() WHERE id = 1; END"))
    session.commit()
    stop_index.clear()

    session.execute(update(Stop).where(Stop.id == stop.id).values(place="Vieux-Montréal"))
    session.commit()

    assert stop_index.current_index(session) is None
    assert [r.place for r in find_affected(session, OTTAWA_300, START, END)] == ["Vieux-Montréal"]


def test_a_stop_committed_by_another_connection_is_in_the_next_answer(session, engine):
    add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    other = sessionmaker(bind=engine)()
    try:
        add_stop(other, point=OTTAWA, external_id="ottawa")
    finally:
        other.close()

    assert found(session) == ["ottawa", "montreal"]


def test_an_uncommitted_stop_counts_for_its_session_and_is_gone_after_rollback(session):
    add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    add_stop(session, point=OTTAWA, external_id="ottawa", commit=False)
    assert found(session) == ["ottawa", "montreal"]

    session.rollback()
    assert found(session) == ["montreal"]
    assert count_affected(session, OTTAWA_300, START, END) == 1


def test_a_database_without_the_version_triggers_is_read_directly_and_stays_correct(session):
    session.execute(text("DROP TRIGGER stops_version_insert"))
    session.commit()
    add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    add_stop(session, point=OTTAWA, external_id="ottawa")

    assert stop_index.current_index(session) is None
    assert found(session) == ["ottawa", "montreal"]
    assert count_affected(session, OTTAWA_300, START, END) == 2


def test_a_point_on_the_antimeridian_written_as_minus_180_is_in_a_zone_ending_at_180(session):
    zone = parse_geojson({"type": "Polygon", "coordinates": [[
        [170, -20], [180, -20], [180, -10], [170, -10], [170, -20]]]})
    add_stop(session, country="FJ", point=(-15.0, -180.0), external_id="on-the-line")
    add_stop(session, country="FJ", point=(-15.0, -179.5), external_id="east-of-it")

    assert found(session, zone) == ["on-the-line"]


def test_the_window_ends_are_inclusive_on_the_index_path(session):
    add_stop(session, dates=(date(2025, 3, 1), START), external_id="leaves-on-the-first-day")
    add_stop(session, dates=(END, None), external_id="arrives-on-the-last-day")
    add_stop(session, dates=(date(2025, 3, 21), None), external_id="arrives-the-day-after")
    add_stop(session, dates=(date(2025, 3, 1), date(2025, 3, 9)), external_id="left-the-day-before")

    assert sorted(found(session)) == ["arrives-on-the-last-day", "leaves-on-the-first-day"]


def test_concurrent_queries_while_the_registry_changes_agree_with_the_database(engine):
    setup = sessionmaker(bind=engine)()
    for _ in range(20):
        add_stop(setup)
    setup.close()
    answers, errors = [], []

    def reader():
        s = sessionmaker(bind=engine)()
        try:
            for _ in range(10):
                answers.append(count_affected(s, OTTAWA_300, START, END))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            s.close()

    def writer():
        s = sessionmaker(bind=engine)()
        try:
            for _ in range(10):
                add_stop(s)
        finally:
            s.close()

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    assert all(20 <= a <= 30 for a in answers)
    final = sessionmaker(bind=engine)()
    assert count_affected(final, OTTAWA_300, START, END) == 30
    final.close()


def test_the_process_keeps_a_bounded_number_of_indexes(tmp_path):
    stop_index.clear()
    for i in range(stop_index.MAX_ENTRIES + 2):
        eng = migrated_sqlite_engine(tmp_path / f"db{i}.db")
        s = sessionmaker(bind=eng)()
        add_stop(s)
        assert count_affected(s, OTTAWA_300, START, END) == 1
        s.close()
        eng.dispose()

    assert len(stop_index._cache) == stop_index.MAX_ENTRIES
