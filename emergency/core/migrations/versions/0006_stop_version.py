"""Registry version: a value that changes whenever a stop is written (the affected-set cache)

On SQLite the affected set is computed in memory from a per-process cache of the stops'
coordinates and dates (`registry.stop_index`). The cache is only valid for the state of
`stops` it was read from, so every INSERT, DELETE and UPDATE of a cached column on `stops`
(including deletes cascading from a traveller or a trip) sets `registry_version.version` to
a fresh random 64-bit value, through row-level triggers (SQLite has no statement-level
triggers). Random rather than +1: a rolled-back transaction's version can never come back
to label different rows, and a copied database file keeps a version that matches its rows.
Cost measured on this machine: about 7 µs per inserted row (a 100k-row bulk insert goes
from 0.40 s to 1.09 s in raw sqlite3), small beside the rest of a registration.

A later migration that rebuilds `stops` on SQLite (`op.batch_alter_table("stops")` copies
the table and drops its triggers) must create the triggers again (since 0008: call 0008's
`create_triggers()`, which also keeps the change log; 0006's would still be correct, with
every write then costing the next query a full rebuild);
`registry.stop_index` checks that they exist and, if not, falls back to reading the
database on every call, so a missing trigger costs speed, never correctness.

PostgreSQL computes the affected set in SQL with PostGIS and needs no cache: the table is
created there too (harmless, keeps the schemas alike) but without triggers.

Revision ID: 0006
Revises: 0005
"""
import random

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the columns the cache holds; an UPDATE of any other column (place, address) leaves it valid
CACHED_COLUMNS = ("id", "traveller_id", "lat", "lon", "precision", "country", "arrival",
                  "departure")
TRIGGERS = {
    "stops_version_insert": "AFTER INSERT ON stops",
    "stops_version_delete": "AFTER DELETE ON stops",
    "stops_version_update": f"AFTER UPDATE OF {', '.join(CACHED_COLUMNS)} ON stops",
}


def create_triggers() -> None:
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {name} {when} FOR EACH ROW BEGIN "
            "UPDATE registry_version SET version = random() WHERE id = 1; END"
        )


def upgrade() -> None:
    table = op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": random.getrandbits(62)}])
    if op.get_bind().dialect.name == "sqlite":
        create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("registry_version")
