"""CAP messages: the CAP alerts that opened, updated or cancelled a draft incident

One row per CAP message acted on, keyed by CAP's own (sender, identifier): a later Update or
Cancel finds its incident through the messages its <references> name, and a message posted
twice acts once (`uq_cap_messages_once`). The rows go with their incident.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cap_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_text", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("msg_type", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('opened','updated','cancelled','recorded')",
                           name=op.f("ck_cap_messages_action")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_cap_messages_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_messages")),
        sa.UniqueConstraint("sender", "identifier", name="uq_cap_messages_once"),
    )
    with op.batch_alter_table("cap_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cap_messages_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cap_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cap_messages_incident_id"))
    op.drop_table("cap_messages")
