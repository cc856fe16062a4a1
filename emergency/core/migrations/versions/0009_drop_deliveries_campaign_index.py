"""Delivery indexes for the send loop: one fewer, and the batch index in claim order

Every delivery row is updated twice while an alert goes out (claimed, then recorded as
sent), and on PostgreSQL each of those updates writes a new entry in every index of the
table: the cost of an SMS to the database grows with the number of indexes, and on a busy
machine that CPU comes out of the provider calls (bench/sms_sender_micro.py prints it). The
campaign-only index duplicated the first column of `uq_deliveries_once` (campaign,
recipient, channel) and of `ix_deliveries_batch` (campaign, channel, batch), which serve
every query by campaign; the partial `ix_deliveries_waiting` answers "is anything still
waiting?". It is dropped.

`ix_deliveries_batch` gains `id` as its last column: a sender claims a large batch a slice
at a time, the lowest 50 claimable ids above the last slice's, and with the ids in the
index PostgreSQL reads those 50 entries instead of the batch's 1,000 and sorting them.

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_deliveries_campaign_id", table_name="deliveries")
    op.drop_index("ix_deliveries_batch", table_name="deliveries")
    op.create_index("ix_deliveries_batch", "deliveries", ["campaign_id", "channel", "batch", "id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_batch", table_name="deliveries")
    op.create_index("ix_deliveries_batch", "deliveries", ["campaign_id", "channel", "batch"])
    op.create_index("ix_deliveries_campaign_id", "deliveries", ["campaign_id"])
