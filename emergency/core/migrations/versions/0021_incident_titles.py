"""Incident titles in both languages

`incidents.title` becomes `title_en` (the title the API's `title` keeps returning), and
`title_fr` holds the French title, empty when none was given (pages and messages then use
the English one).

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


# RENAME, ADD and DROP COLUMN in place (SQLite 3.35+ and PostgreSQL alike): a batch
# operation would copy and drop `incidents` on SQLite, and dropping it cascades to every
# table whose rows belong to an incident (zones, alerts' recipients, answers...).
def upgrade() -> None:
    op.execute("ALTER TABLE incidents RENAME COLUMN title TO title_en")
    op.add_column("incidents", sa.Column("title_fr", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE incidents DROP COLUMN title_fr")  # SQLite 3.35+
    op.execute("ALTER TABLE incidents RENAME COLUMN title_en TO title")
