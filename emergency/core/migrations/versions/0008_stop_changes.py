"""Stop change log: which stops changed, so the affected-set cache updates instead of rebuilding

Migration 0006 made every write to `stops` set `registry_version.version` to a fresh random
value, and the SQLite stop index (`registry.stop_index`) rebuilt itself from the whole
table whenever the version moved: 25 s at 1.7M stops on a loaded 2-core box, paid by the
first dashboard refresh after every registration during a crisis. This log says *which*
stops changed, so the index re-reads only those rows.

`stop_changes(seq, stop_id, prev, tag)`: one row per inserted, deleted or updated stop (an
UPDATE of a cached column, the same columns as 0006; an UPDATE that changes the id logs the
old and the new id). 0006's three triggers keep their names and get new bodies, which write
the log row and the version together: the row's `prev` is the version before the write,
its `tag` a fresh random() value, and the version becomes that tag. So the log is the
version's history, and an index can check that the history it replays is complete:

* `seq` is AUTOINCREMENT, never reused once committed. A rolled-back transaction's seqs
  are handed out again, but with other tags: an index of version V that includes the log
  up to seq S is only a parent if the row S still has the tag V.
* every row's `prev` is the previous row's `tag`, and the last tag is the current version.
  Anything else that changed the version in between (0006's version-only bodies put back
  by a later migration that rebuilt `stops`, or a hand-made UPDATE) breaks that chain, and
  the index rebuilds from the table instead of missing the unlogged writes. Separate log
  triggers next to 0006's could not tell: writes made while only the log triggers were
  missing would have been skipped silently.

The log stays small by itself: every 1024th row deletes the rows more than `KEEP` behind
it (a trigger on the log), so it holds at most KEEP + 1024 rows (about 4 MB) whatever the
write rate, with no job to schedule. An index whose anchor was pruned rebuilds fully, which
a replay of that many changes would cost anyway. The migration writes one first row (stop
id 0, no stop) chained to the current version, so the index built before the first write
already has an anchor.

A later migration that rebuilds `stops` on SQLite (`op.batch_alter_table("stops")` drops
its triggers) must call this module's `create_triggers()`, no longer 0006's: 0006's bodies
keep the cache correct but make it rebuild fully after every write. Cost: about 7 µs per
written stop in raw sqlite3 (a 200k-row insert: 0.34 s without triggers, 0.60 s with 0006's
bodies, 1.45 s with these), a few microseconds per registration.

PostgreSQL computes the affected set in SQL: the table is created there for schema parity
only, without triggers or rows.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# 0006's CACHED_COLUMNS, copied: a migration must not change when another file does
CACHED_COLUMNS = ("id", "traveller_id", "lat", "lon", "precision", "country", "arrival",
                  "departure")
KEEP = 100_000  # log rows kept behind the newest (registry.stop_index replays fewer)
PRUNE_EVERY = 1024  # the log prunes itself when seq is a multiple of this


def _log_statements(stop_id: str, only_if: str = "") -> tuple[str, str]:
    """Log one stop id and make its tag the version (last_insert_rowid() is the log row
    just written, also inside a trigger)."""
    return (
        f"INSERT INTO stop_changes (stop_id, prev, tag) SELECT {stop_id}, version, random() "
        f"FROM registry_version WHERE id = 1{only_if}",
        "UPDATE registry_version SET version = (SELECT tag FROM stop_changes "
        "WHERE seq = last_insert_rowid()) WHERE id = 1",
    )


def _log(stop_id: str, only_if: str = "") -> str:
    return " ".join(f"{statement};" for statement in _log_statements(stop_id, only_if))


TRIGGERS = {  # 0006's names, new bodies
    "stops_version_insert": ("AFTER INSERT ON stops", _log("NEW.id")),
    "stops_version_delete": ("AFTER DELETE ON stops", _log("OLD.id")),
    "stops_version_update": (f"AFTER UPDATE OF {', '.join(CACHED_COLUMNS)} ON stops",
                             _log("OLD.id") + " " + _log("NEW.id", " AND NEW.id != OLD.id")),
    "stop_changes_prune": (f"AFTER INSERT ON stop_changes WHEN NEW.seq % {PRUNE_EVERY} = 0",
                           f"DELETE FROM stop_changes WHERE seq <= NEW.seq - {KEEP};"),
}
_0006_TRIGGERS = {  # for the downgrade
    "stops_version_insert": "AFTER INSERT ON stops",
    "stops_version_delete": "AFTER DELETE ON stops",
    "stops_version_update": f"AFTER UPDATE OF {', '.join(CACHED_COLUMNS)} ON stops",
}


def create_triggers() -> None:
    for name, (when, body) in TRIGGERS.items():
        # SQLite triggers are all row-level: "FOR EACH ROW" is implied (it would have to
        # come before the prune trigger's WHEN)
        op.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {when} BEGIN {body} END")


def upgrade() -> None:
    op.create_table(
        "stop_changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("prev", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_stop_changes")),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "sqlite":
        for name in _0006_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        create_triggers()
        for statement in _log_statements("0"):  # the first row, chained to the version
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for name, when in _0006_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} FOR EACH ROW BEGIN "
                       "UPDATE registry_version SET version = random() WHERE id = 1; END")
    op.drop_table("stop_changes")
