"""Incident zones: severity rings, exports

An incident may now have several zones (severity rings), each with its own label and
message; the frozen recipient list records which zone each traveller was in. Every
existing incident's zone becomes its severity-1 zone; `incidents.zone_geojson` stays as
the union of the incident's zones, for whatever needs the incident's whole area at once.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=True),
        sa.Column("label_fr", sa.String(length=200), nullable=True),
        sa.Column("zone_geojson", sa.JSON(), nullable=False),
        sa.Column("zone_source", sa.JSON(), nullable=True),
        sa.Column("zone_note", sa.Text(), nullable=True),
        sa.Column("message_en", sa.Text(), nullable=True),
        sa.Column("message_fr", sa.Text(), nullable=True),
        sa.CheckConstraint("severity >= 1", name=op.f("ck_incident_zones_severity")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_zones_incident_id_incidents"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_zones")),
    )
    with op.batch_alter_table("incident_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_zones_incident_id"), ["incident_id"], unique=False)

    # Data: each existing incident's zone becomes its severity-1 zone.
    op.execute(
        "INSERT INTO incident_zones (incident_id, severity, zone_geojson, zone_source, zone_note) "
        "SELECT id, 1, zone_geojson, zone_source, zone_note FROM incidents"
    )

    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zone_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_alert_recipients_zone_id_incident_zones"),
                                    "incident_zones", ["zone_id"], ["id"], ondelete="SET NULL")
    # Recipients frozen before zones existed were all in the incident's only zone.
    op.execute(
        "UPDATE alert_recipients SET zone_id = (SELECT z.id FROM incident_zones z "
        "WHERE z.incident_id = alert_recipients.incident_id AND z.severity = 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alert_recipients_zone_id_incident_zones"), type_="foreignkey")
        batch_op.drop_column("zone_id")
    with op.batch_alter_table("incident_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_zones_incident_id"))
    op.drop_table("incident_zones")
