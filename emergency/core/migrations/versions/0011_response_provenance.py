"""Safety answers keep their provenance, and answers to a closed incident are marked late

An answer now says who gave it (`reported_by`: the traveller, a companion, an officer who
took it by phone, or an unverified report such as the public check-in form), the name of
that person when it is not the traveller (`reporter_name`), and what it came from
(`source_message`: "delivery:<id>" for a link in a message we sent, "inbound:<id>" for an
SMS reply, null for a web page). `late` marks an answer received after its incident was
closed: it is kept and shown, but the closed incident's figures leave it out.

Existing answers were all given by the traveller through their own link, SMS or form; those
received after their incident's `closed_at` become late, so a closed incident's figures go
back to what they were at closing.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REPORTERS = ("traveller", "companion", "officer", "unverified")


def upgrade() -> None:
    with op.batch_alter_table("safety_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reported_by", sa.String(length=12), nullable=False,
                                      server_default="traveller"))
        batch_op.add_column(sa.Column("reporter_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("source_message", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_check_constraint(
            op.f("ck_safety_responses_reported_by"), "reported_by IN (" + ",".join(f"'{r}'" for r in REPORTERS) + ")")

    responses = sa.table("safety_responses", sa.column("incident_id", sa.Integer()),
                         sa.column("received_at", sa.DateTime(timezone=True)), sa.column("late", sa.Boolean()))
    incidents = sa.table("incidents", sa.column("id", sa.Integer()),
                         sa.column("closed_at", sa.DateTime(timezone=True)))
    closed_at = (sa.select(incidents.c.closed_at).where(incidents.c.id == responses.c.incident_id)
                 .scalar_subquery())
    op.execute(responses.update().where(closed_at.is_not(None), responses.c.received_at > closed_at)
               .values(late=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("safety_responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_safety_responses_reported_by"), type_="check")
        batch_op.drop_column("late")
        batch_op.drop_column("source_message")
        batch_op.drop_column("reporter_name")
        batch_op.drop_column("reported_by")
