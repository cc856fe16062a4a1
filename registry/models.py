"""Registry tables: a traveller has trips, a trip has stops (where and when).

Stops carry their own `traveller_id` so the spatial-temporal join never needs to touch
the trips table. Where a stop is, is `lat`/`lon` (a map point or a city) or only a
`country` (`precision` says which); on PostgreSQL a generated PostGIS column `geom`,
built from lat/lon by the migration, carries the GiST index.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from common.clock import utcnow
from common.models import package_metadata


class RegistryBase(DeclarativeBase):
    """The registry's tables (their own MetaData; Alembic's env.py combines the packages')."""

    metadata = package_metadata()


PRECISIONS = ("point", "city", "country")


class Partner(RegistryBase):
    """A tour operator, school or agency that imports its own travellers.

    Its API users (`User.partner_id`) see and change only the travellers whose
    `partner_id` is this partner's id."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Traveller(RegistryBase):
    __tablename__ = "travellers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unique per partner (NULL partner = the public registry): see the indexes below.
    external_id: Mapped[str | None] = mapped_column(String(100))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    language: Mapped[str] = mapped_column(String(2), default="en")
    source: Mapped[str] = mapped_column(String(20), default="web")  # web, import, seed, api
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # The rest of a complete record: optional, so an import file or API call without them is still valid.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    phone2: Mapped[str | None] = mapped_column(String(20))  # E.164, a second way to text
    consent_version: Mapped[str | None] = mapped_column(String(20))  # wording agreed to at consent_at

    trips: Mapped[list["Trip"]] = relationship(back_populates="traveller", cascade="all, delete-orphan")
    companions: Mapped[list["Companion"]] = relationship(
        back_populates="traveller", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Companion.id")
    emergency_contacts: Mapped[list["EmergencyContact"]] = relationship(
        back_populates="traveller", cascade="all, delete-orphan", passive_deletes=True,
        order_by="EmergencyContact.id")

    __table_args__ = (
        CheckConstraint("language IN ('en', 'fr')", name="language"),
        # external_id is unique within a partner, and within the public registry (NULL
        # partner). Two partial unique indexes say both on SQLite and PostgreSQL alike.
        Index("uq_travellers_partner_external_id", "partner_id", "external_id", unique=True,
              sqlite_where=text("partner_id IS NOT NULL"), postgresql_where=text("partner_id IS NOT NULL")),
        Index("uq_travellers_public_external_id", "external_id", unique=True,
              sqlite_where=text("partner_id IS NULL"), postgresql_where=text("partner_id IS NULL")),
    )

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class Trip(RegistryBase):
    __tablename__ = "trips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("travellers.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    traveller: Mapped[Traveller] = relationship(back_populates="trips")
    stops: Mapped[list["Stop"]] = relationship(
        back_populates="trip", cascade="all, delete-orphan", order_by="Stop.arrival"
    )

    # A trip ends by itself on its return date: its status is computed, never stored.
    def status_on(self, today: date) -> str:
        """'upcoming' before the first arrival, 'ended' once every stop's departure is before
        `today`, else 'active' (a stop with no departure date never ends by itself)."""
        if not self.stops:
            return "ended"
        if all(s.departure is not None and s.departure < today for s in self.stops):
            return "ended"
        if min(s.arrival for s in self.stops) > today:
            return "upcoming"
        return "active"

    @property
    def status(self) -> str:
        """`status_on` today (UTC)."""
        return self.status_on(utcnow().date())


class Stop(RegistryBase):
    __tablename__ = "stops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("travellers.id", ondelete="CASCADE"), index=True)
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    place: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str] = mapped_column(String(10))
    arrival: Mapped[date] = mapped_column(Date)
    departure: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(300))  # accommodation or street address

    trip: Mapped[Trip] = relationship(back_populates="stops")

    __table_args__ = (
        CheckConstraint("precision IN ('point', 'city', 'country')", name="precision"),
        CheckConstraint("departure IS NULL OR departure >= arrival", name="dates"),
        CheckConstraint(
            "(precision = 'country') OR (lat IS NOT NULL AND lon IS NOT NULL)", name="located"
        ),
        Index("ix_stops_window", "arrival", "departure"),
        Index("ix_stops_country", "country"),
        # country-only stops of the touched countries (registry.affected; migration 0007)
        Index("ix_stops_country_only", "country", "arrival", "departure", "traveller_id",
              postgresql_where=text("precision = 'country'"),
              sqlite_where=text("precision = 'country'")),
    )


# --- People travelling with the traveller, and people to call at home ---------------------

TRIP_PURPOSES = ("tourism", "business", "study", "family", "work", "volunteer", "other")
AGE_BANDS = ("0-4", "5-11", "12-17", "18-64", "65+")
MAX_COMPANIONS = 10


class Companion(RegistryBase):
    """Someone travelling with the traveller (a child, a partner...). `non_citizen` flags
    family members the consulate may not be able to assist in the same way."""

    __tablename__ = "companions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("travellers.id", ondelete="CASCADE"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    age_band: Mapped[str] = mapped_column(String(5))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    non_citizen: Mapped[bool] = mapped_column(Boolean, default=False)

    traveller: Mapped[Traveller] = relationship(back_populates="companions")

    __table_args__ = (
        CheckConstraint("age_band IN ('0-4', '5-11', '12-17', '18-64', '65+')", name="age_band"),
    )


class EmergencyContact(RegistryBase):
    """Someone at home to tell, or to ask about the traveller; reachable by phone or email."""

    __tablename__ = "emergency_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("travellers.id", ondelete="CASCADE"), index=True)
    # Declared before the `relationship` column, whose name would hide SQLAlchemy's function.
    traveller: Mapped[Traveller] = relationship(back_populates="emergency_contacts")

    name: Mapped[str] = mapped_column(String(200))
    relationship: Mapped[str | None] = mapped_column(String(100))  # "mother", "friend"...
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="en")

    __table_args__ = (
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="reachable"),
        CheckConstraint("language IN ('en', 'fr')", name="language"),
    )
