"""Households: an answer may be about one of the traveller's companions

`safety_responses.companion_id` names the companion an answer is about (null: the traveller
themselves). The row still carries the registering traveller's id, so a household's answers
sit together and go with the traveller; the companion's own answers (`reported_by`
"companion") win over anything the traveller or an officer said for them. A companion
removed from a registration takes the answers about them along (ON DELETE CASCADE).

Existing answers are all about travellers: nothing to fill in.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("safety_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("companion_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_safety_responses_companion_id_companions"), "companions",
                                    ["companion_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index("ix_safety_responses_companion", ["incident_id", "companion_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("safety_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_responses_companion")
        batch_op.drop_constraint(batch_op.f("fk_safety_responses_companion_id_companions"), type_="foreignkey")
        batch_op.drop_column("companion_id")
