"""The SQLite stop index follows writes by replaying the change log (migration 0008)
instead of re-reading the whole table, and answers exactly as the database does.

Every answer here is compared with the path that reads the database without the index
(`_best_per_traveller(zone, _matching_rows(...))`), and `StopIndex.made_by` says whether
the index was rebuilt from the table, replayed from the log or compacted in memory.
"""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import sessionmaker

from emergency.core.database import make_engine
from emergency.core.migrate import upgrade
from geo.zones import parse_geojson
from registry import stop_index
from registry.affected import _best_per_traveller, _matching_rows, count_affected, find_affected
from registry.models import Stop, Traveller
from registry.stop_index import COMPACTED, FULL, REPLAYED
from tests.registry.helpers import (
    END,
    MONTREAL,
    OTTAWA,
    OTTAWA_300,
    START,
    TORONTO,
    add_stop,
    found,
    migrated_sqlite_engine,
)

LATER = (date(2025, 4, 1), None)
SUVA = (-18.1416, 178.4419)
FIJI_ACROSS_180 = parse_geojson({"type": "Polygon", "coordinates": [[
    [170, -25], [190, -25], [190, -10], [170, -10], [170, -25]]]})
ZONES = (OTTAWA_300, FIJI_ACROSS_180)


def move(session, stop_id: int, **values) -> None:
    session.execute(update(Stop).where(Stop.id == stop_id).values(**values))
    session.commit()


def read_directly(session, zone, start, end) -> list:
    """The answer of the path that reads the database, without the index."""
    return _best_per_traveller(zone, _matching_rows(session, zone, start, end))


def assert_index_agrees_with_the_database(session, windows=((START, END), (START, None))):
    for zone in ZONES:
        for start, end in windows:
            expected = read_directly(session, zone, start, end)
            assert find_affected(session, zone, start, end) == expected
            assert count_affected(session, zone, start, end) == len(expected)


def index(session) -> stop_index.StopIndex:
    current = stop_index.current_index(session)
    assert current is not None
    return current


# --------------------------------------------------------------------------- replaying


def test_a_registration_after_the_index_was_built_is_replayed_not_rebuilt(session):
    add_stop(session, external_id="montreal")
    assert index(session).made_by == FULL

    add_stop(session, point=OTTAWA, external_id="ottawa")

    assert index(session).made_by == REPLAYED
    assert index(session).overlay_count == 1
    assert found(session) == ["ottawa", "montreal"]
    assert_index_agrees_with_the_database(session)


def test_a_stop_moved_out_of_the_zone_is_replayed_and_its_old_place_forgotten(session):
    stop = add_stop(session, external_id="montreal")
    add_stop(session, point=OTTAWA, external_id="ottawa")
    assert found(session) == ["ottawa", "montreal"]

    move(session, stop.id, lat=TORONTO[0], lon=TORONTO[1])

    assert index(session).made_by == REPLAYED
    assert found(session) == ["ottawa"]
    assert_index_agrees_with_the_database(session)


def test_a_stop_moved_across_the_world_is_found_in_its_new_zone(session):
    stop = add_stop(session, external_id="traveller")
    assert found(session) == ["traveller"]

    move(session, stop.id, lat=SUVA[0], lon=SUVA[1], country="FJ")

    assert index(session).made_by == REPLAYED
    assert found(session) == []
    assert found(session, FIJI_ACROSS_180) == ["traveller"]
    assert_index_agrees_with_the_database(session)


def test_dates_moved_out_of_the_window_and_back_are_replayed(session):
    stop = add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    move(session, stop.id, arrival=LATER[0], departure=LATER[1])
    assert index(session).made_by == REPLAYED
    assert found(session) == []
    assert found(session, end=None) == ["montreal"]

    move(session, stop.id, arrival=date(2025, 3, 1), departure=START)
    assert found(session) == ["montreal"]
    assert_index_agrees_with_the_database(session)


def test_a_located_stop_that_becomes_country_only_and_back_is_found_each_time(session):
    stop = add_stop(session, point=TORONTO, external_id="ontario")
    assert found(session) == []

    move(session, stop.id, precision="country", lat=None, lon=None)
    assert index(session).made_by == REPLAYED
    rows = find_affected(session, OTTAWA_300, START, END)
    assert [(r.traveller_id, r.precision) for r in rows] == [(stop.traveller_id, "country")]

    move(session, stop.id, precision="city", lat=OTTAWA[0], lon=OTTAWA[1])
    rows = find_affected(session, OTTAWA_300, START, END)
    assert [(r.traveller_id, r.precision) for r in rows] == [(stop.traveller_id, "point")]
    assert_index_agrees_with_the_database(session)


def test_a_country_only_stop_moved_to_another_country_is_replayed(session):
    stop = add_stop(session, point=None, external_id="somewhere-in-canada")
    assert found(session) == ["somewhere-in-canada"]

    move(session, stop.id, country="FR")

    assert index(session).made_by == REPLAYED
    assert found(session) == []
    assert_index_agrees_with_the_database(session)


def test_deleted_stops_and_a_deleted_travellers_cascaded_stops_leave_the_answer(session):
    first = add_stop(session, external_id="first")
    second = add_stop(session, point=OTTAWA, external_id="second")
    third = add_stop(session, point=None, external_id="third")
    assert sorted(found(session)) == ["first", "second", "third"]

    session.execute(delete(Stop).where(Stop.id == first.id))
    session.commit()
    assert index(session).made_by == REPLAYED
    assert sorted(found(session)) == ["second", "third"]

    session.execute(delete(Traveller).where(Traveller.id.in_([second.traveller_id, third.traveller_id])))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Stop)) == 0
    assert index(session).made_by == REPLAYED
    assert found(session) == []
    assert count_affected(session, OTTAWA_300, START, END) == 0


def test_a_stop_whose_id_changes_is_found_under_its_new_id_only(session):
    old_id = add_stop(session, external_id="montreal").id
    assert found(session) == ["montreal"]

    move(session, old_id, id=old_id + 1000)

    assert index(session).made_by == REPLAYED
    assert [r.stop_id for r in find_affected(session, OTTAWA_300, START, END)] == [old_id + 1000]
    assert_index_agrees_with_the_database(session)


def test_a_stop_changed_twice_keeps_only_its_latest_row(session):
    add_stop(session, external_id="montreal")
    assert index(session).made_by == FULL
    stop = add_stop(session, point=TORONTO, external_id="moving")
    assert found(session) == ["montreal"]

    move(session, stop.id, lat=OTTAWA[0], lon=OTTAWA[1])
    assert found(session) == ["moving", "montreal"]
    move(session, stop.id, lat=TORONTO[0], lon=TORONTO[1])

    assert index(session).made_by == REPLAYED
    assert index(session).overlay_count == 1
    assert found(session) == ["montreal"]


def test_deriving_an_index_leaves_the_one_it_came_from_unchanged(session):
    stop = add_stop(session, external_id="montreal")
    before = index(session)
    day = START.toordinal()

    move(session, stop.id, lat=TORONTO[0], lon=TORONTO[1])
    add_stop(session, point=OTTAWA, external_id="ottawa")
    after = index(session)

    assert after is not before and after.made_by == REPLAYED
    assert before.stop_id[before.located(OTTAWA_300, day, None)].tolist() == [stop.id]
    assert before.located_count == 1


def test_an_uncommitted_write_is_replayed_for_its_session_only(session, engine):
    add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]
    other = sessionmaker(bind=engine)()
    try:
        add_stop(session, point=OTTAWA, external_id="ottawa", commit=False)

        assert index(session).made_by == REPLAYED
        assert found(session) == ["ottawa", "montreal"]
        assert found(other) == ["montreal"]
        other.rollback()  # let the writer commit (WAL: the reader's snapshot would stay)

        session.commit()
        assert found(other) == ["ottawa", "montreal"]
    finally:
        other.close()


def test_a_rolled_back_writes_index_is_not_a_parent_once_its_seqs_are_reused(session, engine):
    add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]
    add_stop(session, point=OTTAWA, external_id="ghost", commit=False)
    assert found(session) == ["ghost", "montreal"]  # an index with the ghost: still cached
    session.rollback()

    # another connection writes the same number of log rows, which reuse the ghost's seqs
    writer = sessionmaker(bind=engine)()
    try:
        add_stop(writer, point=TORONTO, external_id="toronto")
    finally:
        writer.close()

    assert index(session).made_by == REPLAYED  # from the committed index, not the ghost's
    assert found(session) == ["montreal"]
    assert count_affected(session, OTTAWA_300, START, END) == 1
    assert_index_agrees_with_the_database(session)


# --------------------------------------------------------------------------- when it rebuilds


def test_many_changes_are_merged_into_a_new_base_without_reading_the_table(session, monkeypatch):
    monkeypatch.setattr(stop_index, "OVERLAY_LIMIT", 3)
    montreal = add_stop(session, external_id="montreal")
    canada = add_stop(session, point=None, external_id="canada")
    assert index(session).made_by == FULL

    add_stop(session, point=OTTAWA, external_id="ottawa")
    move(session, canada.id, country="FR")
    assert index(session).made_by == REPLAYED
    move(session, montreal.id, arrival=LATER[0], departure=LATER[1])
    add_stop(session, point=None, external_id="still-canada")

    compacted = index(session)
    assert compacted.made_by == COMPACTED and compacted.overlay_count == 0
    assert compacted.located_count == 2 and compacted.country_count == 2
    assert found(session) == ["ottawa", "still-canada"]
    assert_index_agrees_with_the_database(session)

    add_stop(session, point=TORONTO, external_id="toronto")
    assert index(session).made_by == REPLAYED  # the compacted index is a parent like any other
    assert_index_agrees_with_the_database(session)


def test_an_index_whose_anchor_was_pruned_from_the_log_is_rebuilt(session):
    add_stop(session, external_id="montreal")
    anchor = index(session).anchor
    add_stop(session, point=OTTAWA, external_id="ottawa")

    session.execute(text("DELETE FROM stop_changes WHERE seq <= :seq"), {"seq": anchor})
    session.commit()
    add_stop(session, point=OTTAWA, external_id="ottawa-2")

    assert index(session).made_by == FULL
    assert sorted(found(session)) == ["montreal", "ottawa", "ottawa-2"]


def test_the_change_log_prunes_itself_to_the_last_rows(session):
    add_stop(session)  # log rows 1 (written by the migration) and 2
    keep, every = 100_000, 1024  # migration 0008's KEEP and PRUNE_EVERY
    last = every * 200  # a multiple of PRUNE_EVERY: this row prunes
    for seq in (last - keep, last - keep + 1, last - 1):  # not multiples: nothing pruned
        session.execute(text("INSERT INTO stop_changes (seq, stop_id, prev, tag) "
                             "VALUES (:s, 0, 1, 1)"), {"s": seq})
    session.commit()
    assert session.scalars(text("SELECT seq FROM stop_changes ORDER BY seq")).all() == [
        1, 2, last - keep, last - keep + 1, last - 1]

    session.execute(text("INSERT INTO stop_changes (seq, stop_id, prev, tag) VALUES (:s, 0, 1, 1)"),
                    {"s": last})
    session.commit()
    add_stop(session, point=OTTAWA)

    assert session.scalars(text("SELECT seq FROM stop_changes ORDER BY seq")).all() == [
        last - keep + 1, last - 1, last, last + 1]


def test_more_changes_than_the_replay_limit_rebuild_fully(session, monkeypatch):
    monkeypatch.setattr(stop_index, "REPLAY_LIMIT", 2)
    add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    for i in range(3):
        add_stop(session, point=OTTAWA, external_id=f"ottawa-{i}")

    assert index(session).made_by == FULL
    assert_index_agrees_with_the_database(session)


def test_the_log_is_the_version_history(session):
    first_id = add_stop(session).id
    move(session, first_id, id=first_id + 1000)  # logs the old and the new id
    session.execute(delete(Traveller))  # the stop goes by cascade
    session.commit()

    rows = session.execute(text("SELECT stop_id, prev, tag FROM stop_changes ORDER BY seq")).all()
    version = session.scalar(text("SELECT version FROM registry_version"))
    assert [r.stop_id for r in rows] == [0, first_id, first_id, first_id + 1000, first_id + 1000]
    assert all(row.prev == before.tag for before, row in zip(rows, rows[1:]))
    assert rows[-1].tag == version


def replace_trigger(session, name: str, create_sql: str) -> None:
    session.execute(text(f"DROP TRIGGER {name}"))
    session.execute(text(create_sql))
    session.commit()


def version_only_trigger(name: str, when: str) -> str:
    """Migration 0006's body: the version changes, nothing is logged."""
    return (f"CREATE TRIGGER {name} {when} FOR EACH ROW BEGIN "
            "UPDATE registry_version SET version = random() WHERE id = 1; END")


def test_a_write_that_changed_the_version_without_a_log_row_is_never_skipped(session):
    moved = add_stop(session, external_id="moved")
    add_stop(session, point=OTTAWA, external_id="ottawa")
    assert sorted(found(session)) == ["moved", "ottawa"]
    logging_update = session.scalar(text(
        "SELECT sql FROM sqlite_master WHERE name = 'stops_version_update'"))

    # a later migration puts 0006's body back, a stop moves, then the log's body returns
    replace_trigger(session, "stops_version_update", version_only_trigger(
        "stops_version_update", "AFTER UPDATE OF lat, lon, place ON stops"))
    move(session, moved.id, lat=TORONTO[0], lon=TORONTO[1])
    replace_trigger(session, "stops_version_update", logging_update)
    add_stop(session, point=OTTAWA, external_id="ottawa-2")  # logged again

    assert index(session).made_by == FULL
    assert sorted(found(session)) == ["ottawa", "ottawa-2"]


def test_a_write_after_the_last_log_row_that_changed_only_the_version_is_never_skipped(session):
    moved = add_stop(session, external_id="moved")
    assert found(session) == ["moved"]

    replace_trigger(session, "stops_version_update", version_only_trigger(
        "stops_version_update", "AFTER UPDATE OF lat, lon, place ON stops"))
    move(session, moved.id, lat=TORONTO[0], lon=TORONTO[1])

    assert index(session).made_by == FULL
    assert found(session) == []


def test_a_database_with_0006s_trigger_bodies_rebuilds_on_each_change_and_stays_correct(session):
    for name, when in (("stops_version_insert", "AFTER INSERT ON stops"),
                       ("stops_version_update", "AFTER UPDATE OF lat, lon, place ON stops")):
        replace_trigger(session, name, version_only_trigger(name, when))
    stop = add_stop(session, external_id="montreal")
    assert found(session) == ["montreal"]

    move(session, stop.id, lat=TORONTO[0], lon=TORONTO[1])
    assert index(session).made_by == FULL
    assert found(session) == []
    add_stop(session, point=OTTAWA, external_id="ottawa")
    assert index(session).made_by == FULL
    assert found(session) == ["ottawa"]


def test_a_database_migrated_only_to_0006_is_read_directly_and_stays_correct(tmp_path):
    """0006's update trigger does not fire on a change of place, which the index shows
    since 0010: such a database is read from the file, never from a stale index."""
    eng = make_engine(f"sqlite:///{tmp_path / 'at-0006.db'}")
    upgrade(eng, "0006")
    session = sessionmaker(bind=eng, expire_on_commit=False)()
    try:
        stop = add_stop(session, external_id="montreal")
        assert found(session) == ["montreal"]
        assert stop_index.current_index(session) is None

        add_stop(session, point=OTTAWA, external_id="ottawa")
        move(session, stop.id, lat=TORONTO[0], lon=TORONTO[1])

        assert found(session) == ["ottawa"]
    finally:
        session.close()
        eng.dispose()


# --------------------------------------------------------------------------- random writes


places = st.one_of(
    st.none(),  # country-only
    st.tuples(st.floats(40, 50), st.floats(-82, -70)),  # around Ottawa's circle
    st.tuples(st.floats(-26, -9), st.floats(168, 192)),  # around the box across 180
    st.tuples(st.floats(-89, 89), st.floats(-180, 180)),  # anywhere
)
stop_dates = st.tuples(st.integers(-30, 30), st.one_of(st.none(), st.integers(0, 30)))
countries = st.sampled_from(["CA", "US", "FJ", "FR"])
operations = st.one_of(
    st.tuples(st.just("insert"), places, countries, stop_dates),
    st.tuples(st.just("place"), st.integers(0, 10**6), places, countries),
    st.tuples(st.just("dates"), st.integers(0, 10**6), stop_dates),
    st.tuples(st.just("delete stop"), st.integers(0, 10**6)),
    st.tuples(st.just("delete traveller"), st.integers(0, 10**6)),
)


def stop_values(place, country, dates) -> dict:
    arrival = START + timedelta(days=dates[0])
    departure = None if dates[1] is None else arrival + timedelta(days=dates[1])
    if place is None:
        return {"precision": "country", "country": country, "lat": None, "lon": None,
                "arrival": arrival, "departure": departure}
    lat, lon = place
    if lon > 180:
        lon -= 360.0
    return {"precision": "point", "country": country, "lat": lat, "lon": lon,
            "arrival": arrival, "departure": departure}


def apply(session, operation) -> None:
    kind, *args = operation
    ids = session.scalars(select(Stop.id).order_by(Stop.id)).all()
    if kind == "insert":
        place, country, dates = args
        values = stop_values(place, country, dates)
        add_stop(session, point=None if place is None else (values["lat"], values["lon"]),
                 country=country, dates=(values["arrival"], values["departure"]), commit=False)
        return
    if not ids:
        return
    stop_id = ids[args[0] % len(ids)]
    if kind == "place":
        values = stop_values(args[1], args[2], (0, 0))
        del values["arrival"], values["departure"]
        session.execute(update(Stop).where(Stop.id == stop_id).values(**values))
    elif kind == "dates":
        values = stop_values(None, "CA", args[1])
        session.execute(update(Stop).where(Stop.id == stop_id)
                        .values(arrival=values["arrival"], departure=values["departure"]))
    elif kind == "delete stop":
        session.execute(delete(Stop).where(Stop.id == stop_id))
    else:
        traveller = session.scalar(select(Stop.traveller_id).where(Stop.id == stop_id))
        session.execute(delete(Traveller).where(Traveller.id == traveller))
    if kind.startswith("delete"):
        # Rows deleted in SQL (trips go by ON DELETE CASCADE) stay in the identity map, and
        # SQLite hands their ids to the next inserts: forget them so a new row is not taken
        # for the deleted one.
        session.expunge_all()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(operations, st.sampled_from(["commit", "check, then commit",
                                                             "check, then roll back"])),
                      min_size=1, max_size=14),
       overlay_limit=st.integers(1, 8))
def test_random_writes_leave_the_index_agreeing_with_the_database(tmp_path_factory, monkeypatch,
                                                                   steps, overlay_limit):
    monkeypatch.setattr(stop_index, "OVERLAY_LIMIT", overlay_limit)
    eng = migrated_sqlite_engine(tmp_path_factory.mktemp("random") / "random.db")
    session = sessionmaker(bind=eng, expire_on_commit=False)()
    made = []  # every index used, kept alive so that their ids stay distinct
    try:
        for place in [None, MONTREAL, SUVA]:
            add_stop(session, point=place, country="FJ" if place == SUVA else "CA")
        assert_index_agrees_with_the_database(session)
        made.append(index(session))
        for operation, ending in steps:
            apply(session, operation)
            if ending != "commit":  # the transaction's own view first
                assert_index_agrees_with_the_database(session)
            if ending.endswith("roll back"):
                session.rollback()
            else:
                session.commit()
            assert_index_agrees_with_the_database(session)
            made.append(index(session))
    finally:
        session.close()
        eng.dispose()
    # one rebuild from the table, at the start; every later index came from the log
    rebuilt = {id(i) for i in made if i.made_by == FULL}
    assert rebuilt == {id(made[0])}, [i.made_by for i in made]


def test_places_and_countries_shown_come_through_replays_and_a_compaction(session, monkeypatch):
    located = add_stop(session, external_id="montreal")
    country_only = add_stop(session, point=None, country="CA", external_id="somewhere")
    assert index(session).made_by == FULL

    session.execute(update(Stop).where(Stop.id == located.id).values(place="Vieux-Montréal"))
    session.execute(update(Stop).where(Stop.id == country_only.id).values(place="Québec (province)"))
    session.commit()
    assert index(session).made_by == REPLAYED
    assert_index_agrees_with_the_database(session)

    monkeypatch.setattr(stop_index, "OVERLAY_LIMIT", 0)
    add_stop(session, point=OTTAWA, external_id="ottawa")
    assert index(session).made_by == COMPACTED
    assert_index_agrees_with_the_database(session)
    rows = find_affected(session, OTTAWA_300, START, END)
    assert [(r.place, r.country, r.located_by) for r in rows] == [
        (None, "CA", "point"), ("Vieux-Montréal", "CA", "point"), ("Québec (province)", "CA", "country")]
