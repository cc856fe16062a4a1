"""Cases: a traveller who asked for help, followed by officers until it is settled

`cases` holds one row per (incident, traveller) who said "need help", by any channel; a
later call for help from the same person adds a row to `case_events` (or reopens the case)
instead of opening a second case, and the unique constraint keeps it so under concurrent
answers. `case_events` is each case's history: calls for help, status, assignment and
priority changes, notes, contact attempts and answers taken by phone. A call for help from
the public check-in form that named a registered traveller opens a case too, before its code
is entered: its event points at the check-in report, which says whether it was verified.

Both tables go with their traveller (ON DELETE CASCADE), as safety responses do, so the
privacy purge and a traveller's own deletion take their cases with them.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('new','in_progress','resolved','closed')", name=op.f("ck_cases_status")),
        sa.CheckConstraint("priority IN ('low','normal','high','urgent')", name=op.f("ck_cases_priority")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_cases_incident_id_incidents")),
        sa.ForeignKeyConstraint(["traveller_id"], ["travellers.id"], name=op.f("fk_cases_traveller_id_travellers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_cases_assignee_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("incident_id", "traveller_id", name="uq_cases_once"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_traveller_id"), ["traveller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index("ix_cases_queue", ["status", "waiting_since"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=True),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("checkin_report_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('opened','need_help','reopened','status','assigned','priority','note',"
                           "'contact','answer')", name=op.f("ck_case_events_kind")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_case_events_user_id_users")),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_case_events_assignee_id_users")),
        sa.ForeignKeyConstraint(["response_id"], ["safety_responses.id"],
                                name=op.f("fk_case_events_response_id_safety_responses"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["checkin_report_id"], ["checkin_reports.id"],
                                name=op.f("fk_case_events_checkin_report_id_checkin_reports"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))
    op.drop_table("case_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_queue")
        batch_op.drop_index(batch_op.f("ix_cases_assignee_id"))
        batch_op.drop_index(batch_op.f("ix_cases_traveller_id"))
        batch_op.drop_index(batch_op.f("ix_cases_incident_id"))
    op.drop_table("cases")
