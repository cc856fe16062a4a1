"""On-call officers: a phone and an on-call flag per user, and the messages they were sent

`users` gains `phone` (E.164, for text messages) and `on_call` (false for everyone at first,
so nobody is paged until someone puts them on the list). `staff_notifications` holds one row
per (officer, event, channel) told that a case opened or reopened or that an alert awaits
approval; the row is written before the provider is called and claimed before the call, so
each officer is told once per event and channel however often the job runs.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("on_call", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("object_type", sa.String(length=10), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('case_opened','case_reopened','approval_requested')",
                           name=op.f("ck_staff_notifications_kind")),
        sa.CheckConstraint("channel IN ('email','sms')", name=op.f("ck_staff_notifications_channel")),
        sa.CheckConstraint("status IN ('pending','sending','sent','failed')", name=op.f("ck_staff_notifications_status")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_notifications_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
        sa.UniqueConstraint("user_id", "kind", "object_id", "event_id", "channel", name="uq_staff_notifications_once"),
    )
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_notifications_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_notifications_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_staff_notifications_event", ["kind", "object_id", "event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_notifications_event")
        batch_op.drop_index(batch_op.f("ix_staff_notifications_created_at"))
        batch_op.drop_index(batch_op.f("ix_staff_notifications_user_id"))
    op.drop_table("staff_notifications")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("on_call")
        batch_op.drop_column("phone")
