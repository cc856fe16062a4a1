"""Registry tables: a traveller has trips, a trip has stops (where and when).

Stops carry their own `traveller_id` so the spatial-temporal join never needs to touch
the trips table. Where a stop is, is `lat`/`lon` (a map point or a city) or only a
`country` (`precision` says which); on PostgreSQL a generated PostGIS column `geom`,
built from lat/lon by the migration, carries the GiST index.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    CheckConstraint, Date, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class RegistryBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


PRECISIONS = ("point", "city", "country")


class Traveller(RegistryBase):
    __tablename__ = "travellers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    language: Mapped[str] = mapped_column(String(2), default="en")
    source: Mapped[str] = mapped_column(String(20), default="web")  # web, import, seed, api
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    trips: Mapped[list["Trip"]] = relationship(back_populates="traveller", cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("language IN ('en', 'fr')", name="language"),)

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

    trip: Mapped[Trip] = relationship(back_populates="stops")

    __table_args__ = (
        CheckConstraint("precision IN ('point', 'city', 'country')", name="precision"),
        CheckConstraint("departure IS NULL OR departure >= arrival", name="dates"),
        CheckConstraint(
            "(precision = 'country') OR (lat IS NOT NULL AND lon IS NOT NULL)", name="located"
        ),
        Index("ix_stops_window", "arrival", "departure"),
        Index("ix_stops_country", "country"),
    )
