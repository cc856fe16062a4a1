"""Check-in reports: a check-in that names a registered traveller waits for a one-time code

A crisis-time check-in matched an existing traveller by email or phone and recorded the
answer as theirs, so anyone who knew a registered person's email could mark them safe. The
check-in is now kept here as sent, and counts as the traveller's only once the person enters
the code sent to that traveller's own contact.

Revision ID: 0013
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkin_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("contact_channel", sa.String(length=5), nullable=False),
        sa.Column("contact", sa.String(length=254), nullable=False),
        sa.Column("answer", sa.String(length=12), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.CheckConstraint("answer IN ('safe','need_help')", name=op.f("ck_checkin_reports_answer")),
        sa.CheckConstraint("contact_channel IN ('email','sms')",
                           name=op.f("ck_checkin_reports_contact_channel")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_checkin_reports_incident_id_incidents")),
        sa.ForeignKeyConstraint(["traveller_id"], ["travellers.id"],
                                name=op.f("fk_checkin_reports_traveller_id_travellers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_reports")),
    )
    with op.batch_alter_table("checkin_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_reports_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_reports_traveller_id"), ["traveller_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkin_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_reports_traveller_id"))
        batch_op.drop_index(batch_op.f("ix_checkin_reports_incident_id"))
    op.drop_table("checkin_reports")
