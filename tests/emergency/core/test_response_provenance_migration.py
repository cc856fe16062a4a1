"""Migration 0011 on SQLite and PostgreSQL: answers given before it are the traveller's, those
received after their incident closed become late, and `reported_by` takes only known values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from emergency.core.database import make_engine
from emergency.core.migrate import current, upgrade
from tests.conftest import insert_traveller, require_marker, throwaway_database

CLOSED_AT = datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc)
ZONE = {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}

incidents = sa.table("incidents", sa.column("id", sa.Integer()), sa.column("title", sa.String()),
                     sa.column("status", sa.String()), sa.column("zone_geojson", sa.JSON()),
                     sa.column("starts_at", sa.DateTime(timezone=True)),
                     sa.column("created_at", sa.DateTime(timezone=True)),
                     sa.column("closed_at", sa.DateTime(timezone=True)))
responses = sa.table("safety_responses", sa.column("id", sa.Integer()), sa.column("incident_id", sa.Integer()),
                     sa.column("traveller_id", sa.Integer()), sa.column("status", sa.String()),
                     sa.column("channel", sa.String()), sa.column("received_at", sa.DateTime(timezone=True)))


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def engine_at_0010(request, tmp_path):
    """An empty database of each backend, migrated to 0010 only."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(eng, "0010")
        yield eng
        eng.dispose()
        return
    require_marker(request, "postgis")
    with throwaway_database("provenance_migration", extensions=("postgis",)) as url:
        eng = make_engine(url)
        upgrade(eng, "0010")
        yield eng
        eng.dispose()


def _old_answers(eng) -> dict[str, int]:
    """A closed incident and an active one, each with answers from before and after the
    closed incident's closing time; returns the answers' ids by name."""
    from sqlalchemy.orm import Session

    with Session(eng) as session:
        traveller_id = insert_traveller(session).id
    before, after = CLOSED_AT - timedelta(hours=1), CLOSED_AT + timedelta(hours=1)
    with eng.begin() as conn:
        conn.execute(incidents.insert(), [
            {"id": 1, "title": "Closed", "status": "closed", "zone_geojson": ZONE, "starts_at": before,
             "created_at": before, "closed_at": CLOSED_AT},
            {"id": 2, "title": "Active", "status": "active", "zone_geojson": ZONE, "starts_at": before,
             "created_at": before, "closed_at": None},
        ])
        rows = {"closed_before": (1, before), "closed_after": (1, after), "active_after": (2, after)}
        for n, (name, (incident_id, at)) in enumerate(rows.items(), start=1):
            conn.execute(responses.insert().values(id=n, incident_id=incident_id, traveller_id=traveller_id,
                                                   status="need_help", channel="sms", received_at=at))
    return {name: n for n, name in enumerate(rows, start=1)}


def test_old_answers_are_the_travellers_and_those_after_closing_become_late(engine_at_0010):
    ids = _old_answers(engine_at_0010)
    upgrade(engine_at_0010, "0011")
    assert current(engine_at_0010) == "0011"
    with engine_at_0010.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.text(
            "SELECT id, reported_by, reporter_name, source_message, late FROM safety_responses"))}
    assert {name: bool(rows[i].late) for name, i in ids.items()} == {
        "closed_before": False, "closed_after": True, "active_after": False}
    assert {(r.reported_by, r.reporter_name, r.source_message) for r in rows.values()} == {("traveller", None, None)}


def test_the_database_refuses_an_unknown_reporter(engine_at_0010):
    ids = _old_answers(engine_at_0010)
    upgrade(engine_at_0010)
    with pytest.raises(IntegrityError), engine_at_0010.begin() as conn:
        conn.execute(sa.text("UPDATE safety_responses SET reported_by = 'neighbour' WHERE id = :id"),
                     {"id": ids["closed_before"]})
    with engine_at_0010.begin() as conn:
        conn.execute(sa.text("UPDATE safety_responses SET reported_by = 'companion', reporter_name = 'Sam' "
                             "WHERE id = :id"), {"id": ids["closed_before"]})


def test_the_migration_goes_back_to_0010_and_up_again(engine_at_0010):
    from alembic import command

    from emergency.core.migrate import alembic_config

    _old_answers(engine_at_0010)
    upgrade(engine_at_0010)
    with engine_at_0010.begin() as conn:
        command.downgrade(alembic_config(engine_at_0010, conn), "0010")
    with engine_at_0010.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("safety_responses")}
    assert not columns & {"reported_by", "reporter_name", "source_message", "late"}
    upgrade(engine_at_0010)
    with engine_at_0010.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM safety_responses WHERE late")) == 1


def test_the_index_of_latest_answers_survives_the_table_rebuild_on_sqlite(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(eng)
    with eng.connect() as conn:
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("safety_responses")}
    eng.dispose()
    assert "ix_safety_responses_latest" in indexes

