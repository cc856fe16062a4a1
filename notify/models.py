"""Delivery tracking tables.

A `Delivery` row exists before any provider call and is claimed with a conditional
UPDATE, so a retried or duplicated job never calls the provider twice for the same
(campaign, recipient, channel). `campaign_id` and `recipient_id` are opaque to notify
(the application uses alert ids and traveller ids).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.clock import utcnow
from common.models import package_metadata


class NotifyBase(DeclarativeBase):
    """notify's tables (their own MetaData; Alembic's env.py combines the packages')."""

    metadata = package_metadata()


# pending -> sending (claimed) -> sent -> delivered | failed ; pending -> failed (no address)
DELIVERY_STATES = ("pending", "sending", "sent", "delivered", "failed")


class Delivery(NotifyBase):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # no index of its own: uq_deliveries_once and ix_deliveries_batch lead with it (0009)
    campaign_id: Mapped[int] = mapped_column(Integer)
    recipient_id: Mapped[int] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    batch: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("campaign_id", "recipient_id", "channel", name="uq_deliveries_once"),
        # a batch's rows in id order: a sender claims them a slice at a time (0009)
        Index("ix_deliveries_batch", "campaign_id", "channel", "batch", "id"),
        # "is anything of this alert still waiting?" asked after every batch (migration 0007)
        Index("ix_deliveries_waiting", "campaign_id",
              postgresql_where=text("status IN ('pending', 'sending')"),
              sqlite_where=text("status IN ('pending', 'sending')")),
    )


class OutboxMessage(NotifyBase):
    """What the outbox provider 'sent': stored and shown in the console instead of delivered."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    to: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    delivery_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboundMessage(NotifyBase):
    """An SMS reply, stored before it is acknowledged; unique on the provider's id."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(100), unique=True)
    from_number: Mapped[str] = mapped_column(String(32), index=True)
    to_number: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(20))  # safe | need_help | opt_out | opt_in | None
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProviderEvent(NotifyBase):
    """A provider status event already applied; makes webhooks idempotent on the event id."""

    __tablename__ = "provider_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_provider_events_once"),)


class SmsOptOut(NotifyBase):
    """A phone number's latest STOP/ARRET or START: opted-out numbers get email instead of SMS.

    One row per number (E.164), updated in place, so the latest keyword wins; `keyword`
    is what the traveller typed (normalised) and `changed_at` when, for the record.
    """

    __tablename__ = "sms_optouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=True)
    keyword: Mapped[str | None] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContactHealth(NotifyBase):
    """What providers told us about an address: a bounce or undelivered SMS makes it `bad`.

    One row per (channel, address), updated in place. Bad addresses are skipped by later
    sends and trigger the other channel for the alert that failed; `reason` is the
    provider's (bounce reason, Twilio error code) for the console.
    """

    __tablename__ = "contact_health"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10), default="ok")  # ok | bad
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("channel", "address", name="uq_contact_health_address"),)
