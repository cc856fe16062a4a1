"""Hazard feeds, their events and trigger rules

`feeds` are the polled sources with their health; `hazard_events` each event a source
reported (unique per source and id; a second source's report of the same disaster points at
the first with `merged_into_id`); `trigger_rules` what coordinators want done when an event
matches; `trigger_firings` makes each rule fire once per event. Staff notifications gain the
kinds `rule_fired` and `hazard_withdrawn`.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_KINDS_OLD = "kind IN ('case_opened','case_reopened','approval_requested')"
_KINDS_NEW = "kind IN ('case_opened','case_reopened','approval_requested','rule_fired','hazard_withdrawn')"


def upgrade() -> None:
    op.create_table("feeds",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("kind", sa.String(length=10), nullable=False),
    sa.Column("url", sa.String(length=1000), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("etag", sa.String(length=300), nullable=True),
    sa.Column("last_modified", sa.String(length=100), nullable=True),
    sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("consecutive_failures", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('usgs','gdacs','cap_index')", name=op.f("ck_feeds_kind")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
    sa.UniqueConstraint("url", name=op.f("uq_feeds_url"))
    )
    op.create_table("trigger_rules",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("source", sa.String(length=10), nullable=False),
    sa.Column("kinds", sa.JSON(), nullable=False),
    sa.Column("min_magnitude", sa.Float(), nullable=True),
    sa.Column("min_alert_level", sa.String(length=10), nullable=True),
    sa.Column("min_severity", sa.String(length=20), nullable=True),
    sa.Column("countries", sa.JSON(), nullable=False),
    sa.Column("min_affected", sa.Integer(), nullable=False),
    sa.Column("action", sa.String(length=10), nullable=False),
    sa.Column("auto_send_allowed", sa.Boolean(), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("created_by_id", sa.Integer(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('notify','draft','send')", name=op.f("ck_trigger_rules_action")),
    sa.CheckConstraint("source IN ('any','usgs','gdacs','cap')", name=op.f("ck_trigger_rules_source")),
    sa.CheckConstraint("min_affected >= 0", name=op.f("ck_trigger_rules_min_affected")),
    sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_trigger_rules_created_by_id_users"),
                            ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_rules"))
    )
    op.create_table("hazard_events",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("source", sa.String(length=10), nullable=False),
    sa.Column("source_id", sa.String(length=500), nullable=False),
    sa.Column("feed_id", sa.Integer(), nullable=True),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("title", sa.String(length=500), nullable=False),
    sa.Column("magnitude", sa.Float(), nullable=True),
    sa.Column("alert_level", sa.String(length=10), nullable=True),
    sa.Column("severity", sa.String(length=20), nullable=True),
    sa.Column("lat", sa.Float(), nullable=True),
    sa.Column("lon", sa.Float(), nullable=True),
    sa.Column("countries", sa.JSON(), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.String(length=300), nullable=False),
    sa.Column("summary", sa.JSON(), nullable=False),
    sa.Column("zone_geojson", sa.JSON(), nullable=True),
    sa.Column("zone_source", sa.JSON(), nullable=True),
    sa.Column("affected", sa.Integer(), nullable=True),
    sa.Column("status", sa.String(length=10), nullable=False),
    sa.Column("merged_into_id", sa.Integer(), nullable=True),
    sa.Column("incident_id", sa.Integer(), nullable=True),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('usgs','gdacs','cap')", name=op.f("ck_hazard_events_source")),
    sa.CheckConstraint("status IN ('active','deleted','cancelled')", name=op.f("ck_hazard_events_status")),
    sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], name=op.f("fk_hazard_events_feed_id_feeds"),
                            ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_hazard_events_incident_id_incidents"),
                            ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["merged_into_id"], ["hazard_events.id"], name=op.f("fk_hazard_events_merged_into_id_hazard_events"),
                            ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_events")),
    sa.UniqueConstraint("source", "source_id", name="uq_hazard_events_source")
    )
    with op.batch_alter_table("hazard_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_events_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hazard_events_first_seen"), ["first_seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_hazard_events_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_hazard_events_kind_time", ["kind", "occurred_at"], unique=False)

    op.create_table("trigger_firings",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("rule_id", sa.Integer(), nullable=False),
    sa.Column("hazard_id", sa.Integer(), nullable=False),
    sa.Column("action", sa.String(length=10), nullable=False),
    sa.Column("affected", sa.Integer(), nullable=False),
    sa.Column("incident_id", sa.Integer(), nullable=True),
    sa.Column("alert_id", sa.Integer(), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_trigger_firings_alert_id_alerts"),
                            ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["hazard_id"], ["hazard_events.id"], name=op.f("fk_trigger_firings_hazard_id_hazard_events"),
                            ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_trigger_firings_incident_id_incidents"),
                            ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["rule_id"], ["trigger_rules.id"], name=op.f("fk_trigger_firings_rule_id_trigger_rules"),
                            ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_firings")),
    sa.UniqueConstraint("rule_id", "hazard_id", name="uq_trigger_firings_once")
    )
    with op.batch_alter_table("trigger_firings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trigger_firings_hazard_id"), ["hazard_id"], unique=False)

    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_notifications_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_staff_notifications_kind"), sa.text(_KINDS_NEW))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM staff_notifications WHERE kind IN ('rule_fired', 'hazard_withdrawn')"))
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_notifications_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_staff_notifications_kind"), sa.text(_KINDS_OLD))
    with op.batch_alter_table("trigger_firings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trigger_firings_hazard_id"))
    op.drop_table("trigger_firings")
    with op.batch_alter_table("hazard_events", schema=None) as batch_op:
        batch_op.drop_index("ix_hazard_events_kind_time")
        batch_op.drop_index(batch_op.f("ix_hazard_events_incident_id"))
        batch_op.drop_index(batch_op.f("ix_hazard_events_first_seen"))
        batch_op.drop_index(batch_op.f("ix_hazard_events_feed_id"))
    op.drop_table("hazard_events")
    op.drop_table("trigger_rules")
    op.drop_table("feeds")
