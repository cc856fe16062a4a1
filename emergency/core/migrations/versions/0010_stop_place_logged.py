"""SQLite: a change of a stop's place is logged like its position and dates

The in-process stop index (registry.stop_index) now holds what an affected-set answer
shows: how each stop was located, its country and its place, so the answer needs no read
of the file (0.5 s for a continent's 90k travellers). Its update trigger must then fire
when `place` changes too, or a renamed place would be shown stale. The trigger keeps its
0008 body (log the stop, chain the version); only its column list grows. PostgreSQL has
no triggers here (PostGIS answers from the table).

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# 0008's CACHED_COLUMNS, copied (a migration must not change when another file does), + place
COLUMNS_0008 = ("id", "traveller_id", "lat", "lon", "precision", "country", "arrival", "departure")
COLUMNS = (*COLUMNS_0008, "place")


def _log(stop_id: str, only_if: str = "") -> str:
    """0008's body: log one stop id and make its tag the version."""
    return (
        f"INSERT INTO stop_changes (stop_id, prev, tag) SELECT {stop_id}, version, random() "
        f"FROM registry_version WHERE id = 1{only_if}; "
        "UPDATE registry_version SET version = (SELECT tag FROM stop_changes "
        "WHERE seq = last_insert_rowid()) WHERE id = 1;"
    )


def _update_trigger(columns: tuple[str, ...]) -> str:
    return (f"CREATE TRIGGER stops_version_update AFTER UPDATE OF {', '.join(columns)} ON stops "
            f"BEGIN {_log('OLD.id')} {_log('NEW.id', ' AND NEW.id != OLD.id')} END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS stops_version_update")
        op.execute(_update_trigger(COLUMNS))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS stops_version_update")
        op.execute(_update_trigger(COLUMNS_0008))
