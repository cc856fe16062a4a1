"""Partial indexes for the two questions asked in a crisis loop

* `ix_stops_country_only`: country-only stops by (country, arrival, departure,
  traveller). A zone touching fifty countries asks for the country-only stops of those
  countries in the incident window; with only `ix_stops_country` PostgreSQL read every
  stop of those countries (most of them located) and filtered them one by one. The
  partial index holds the country-only stops alone and answers the count from the index.
* `ix_deliveries_waiting`: deliveries still `pending` or `sending`, by campaign. Every
  delivery job ends by asking "is anything of this alert still waiting?"; without it that
  question counted all of the alert's rows (200k for 100k recipients by email and SMS) once
  per job. The partial index is empty when nothing waits, so the answer costs nothing.

Both databases support partial indexes (SQLite since 3.8).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stops_country_only", "stops",
                    ["country", "arrival", "departure", "traveller_id"],
                    postgresql_where=sa.text("precision = 'country'"),
                    sqlite_where=sa.text("precision = 'country'"))
    op.create_index("ix_deliveries_waiting", "deliveries", ["campaign_id"],
                    postgresql_where=sa.text("status IN ('pending', 'sending')"),
                    sqlite_where=sa.text("status IN ('pending', 'sending')"))


def downgrade() -> None:
    op.drop_index("ix_deliveries_waiting", table_name="deliveries")
    op.drop_index("ix_stops_country_only", table_name="stops")
