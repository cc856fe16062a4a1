"""PostGIS geometry for stops (PostgreSQL only)

The point is derived from lat/lon by a generated column, so the ORM writes only
lat/lon and the two can never disagree; the GiST index serves the affected-set join.
SQLite has no such column: its join runs in geopandas/shapely instead.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        "ALTER TABLE stops ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS "
        "(CASE WHEN lon IS NOT NULL AND lat IS NOT NULL "
        "THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END) STORED"
    )
    op.execute("CREATE INDEX ix_stops_geom ON stops USING gist (geom)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_stops_geom")
    op.execute("ALTER TABLE stops DROP COLUMN IF EXISTS geom")
