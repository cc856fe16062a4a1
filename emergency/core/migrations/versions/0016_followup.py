"""Follow-up of non-responders: a plan per incident, rounds as alerts, contacts' answers

`followup_plans` holds at most one plan per incident (no row: the defaults). A follow-up
round is an alert: `alerts.followup_of` names the safety check it follows up and
`alerts.round` its number (0 for the message to emergency contacts), unique together so
that two schedulers never create the same round. `alert_recipients.emergency_contact_id`
marks a recipient row that is a traveller's emergency contact (the row stays the
traveller's). An answer given by that contact is reported by "contact".

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD_REPORTERS = ("traveller", "companion", "officer", "unverified")
REPORTERS = (*OLD_REPORTERS, "contact")


def _reporters(names) -> str:
    return "reported_by IN (" + ",".join(f"'{r}'" for r in names) + ")"


def upgrade() -> None:
    op.create_table(
        "followup_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("max_rounds", sa.Integer(), nullable=False),
        sa.Column("tell_contacts", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("delay_minutes BETWEEN 5 AND 2880", name=op.f("ck_followup_plans_delay_minutes")),
        sa.CheckConstraint("max_rounds BETWEEN 0 AND 5", name=op.f("ck_followup_plans_max_rounds")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_followup_plans_incident_id_incidents")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_followup_plans_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_plans")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_followup_plans_incident_id")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followup_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("round", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_alerts_followup_of_alerts"), "alerts", ["followup_of"], ["id"])
        batch_op.create_index(batch_op.f("ix_alerts_followup_of"), ["followup_of"], unique=False)
        batch_op.create_unique_constraint("uq_alerts_followup_round", ["followup_of", "round"])
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency_contact_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_alert_recipients_emergency_contact_id_emergency_contacts"),
                                    "emergency_contacts", ["emergency_contact_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("safety_responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_safety_responses_reported_by"), type_="check")
        batch_op.create_check_constraint(op.f("ck_safety_responses_reported_by"), _reporters(REPORTERS))


def downgrade() -> None:
    responses = sa.table("safety_responses", sa.column("reported_by", sa.String()))
    # a contact's answer was given on the traveller's behalf, like a companion's
    op.execute(responses.update().where(responses.c.reported_by == "contact").values(reported_by="companion"))
    with op.batch_alter_table("safety_responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_safety_responses_reported_by"), type_="check")
        batch_op.create_check_constraint(op.f("ck_safety_responses_reported_by"), _reporters(OLD_REPORTERS))
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alert_recipients_emergency_contact_id_emergency_contacts"),
                                 type_="foreignkey")
        batch_op.drop_column("emergency_contact_id")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_alerts_followup_round", type_="unique")
        batch_op.drop_index(batch_op.f("ix_alerts_followup_of"))
        batch_op.drop_constraint(batch_op.f("fk_alerts_followup_of_alerts"), type_="foreignkey")
        batch_op.drop_column("round")
        batch_op.drop_column("followup_of")
    op.drop_table("followup_plans")
