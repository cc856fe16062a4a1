"""Delivery engine: opt-outs, contact health, priorities

Revision ID: 0005
Revises: 0004
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _upgrade_optouts()
    _upgrade_contact_health()


def _upgrade_contact_health() -> None:
    # What providers said about an address (bounced email, undelivered SMS), one row per address.
    op.create_table(
        "contact_health",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_health")),
        sa.UniqueConstraint("channel", "address", name="uq_contact_health_address"),
    )


def _upgrade_optouts() -> None:
    # SMS opt-outs (STOP / ARRET / START), one row per number.
    op.create_table(
        "sms_optouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(length=20), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_optouts")),
        sa.UniqueConstraint("phone", name=op.f("uq_sms_optouts_phone")),
    )


def downgrade() -> None:
    _downgrade_contact_health()
    _downgrade_optouts()


def _downgrade_contact_health() -> None:
    op.drop_table("contact_health")


def _downgrade_optouts() -> None:
    op.drop_table("sms_optouts")
