"""Registering a traveller: check everything, locate each stop, write traveller, trip and stops.

The web form, the JSON API and the importer all go through `validate_traveller`, so a
traveller is accepted or refused by the same rules wherever they come from. Functions take a
SQLAlchemy `Session` and never commit: the caller owns the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import shapely
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from common.clock import utcnow
from common.i18n import N_
from geo import countries, gazetteer
from registry.errors import FieldError, ValidationFailed
from registry.household import (
    CleanCompanion,
    CleanContact,
    CompanionInput,
    ContactInput,
    normalise_address,
    normalise_date_of_birth,
    normalise_purpose,
    validate_companions,
    validate_contacts,
)
from registry.models import Companion, EmergencyContact, Stop, Traveller, Trip
from registry.validation import (
    check_window,
    normalise_country,
    normalise_email,
    normalise_language,
    normalise_name,
    normalise_phone,
    normalise_place,
    parse_date,
    parse_lat,
    parse_lon,
)

MAX_STOPS = 20
MAX_EXTERNAL_ID_LENGTH = 100


@dataclass(kw_only=True)
class StopInput:
    """One destination as typed: strings or already-parsed values are both fine."""

    country: Any
    place: Any = None
    lat: Any = None
    lon: Any = None
    arrival: Any = None
    departure: Any = None
    address: Any = None  # accommodation or street address (optional)


@dataclass(kw_only=True)
class TravellerInput:
    """A registration as typed. `email` or `phone` may be blank, not both."""

    given_name: Any
    family_name: Any
    email: Any = None
    phone: Any = None
    language: Any = "en"
    stops: list[StopInput] = field(default_factory=list)
    external_id: Any = None
    purpose: Any = None  # one of registry.models.TRIP_PURPOSES, or blank
    # The rest of a complete record, all optional.
    date_of_birth: Any = None
    phone2: Any = None
    companions: list[CompanionInput] = field(default_factory=list)
    emergency_contacts: list[ContactInput] = field(default_factory=list)
    consent_version: Any = None


@dataclass(frozen=True)
class CleanStop:
    country: str
    place: str | None
    lat: float | None
    lon: float | None
    precision: str  # point | city | country
    arrival: date
    departure: date | None
    address: str | None = None


@dataclass(frozen=True)
class CleanTraveller:
    given_name: str
    family_name: str
    email: str | None
    phone: str | None
    language: str
    stops: tuple[CleanStop, ...]
    external_id: str | None = None
    purpose: str | None = None
    date_of_birth: date | None = None
    phone2: str | None = None
    companions: tuple[CleanCompanion, ...] = ()
    emergency_contacts: tuple[CleanContact, ...] = ()
    consent_version: str | None = None


class ErrorCollector:
    """Runs checks and keeps every failure, so the form shows all problems at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def run(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ValidationFailed as exc:
            self.errors.extend(exc.errors)
            return None

    def add(self, field_name: str, message: str, **params: Any) -> None:
        self.errors.append(FieldError(field_name, message, params))


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def locate_stop(stop: StopInput, field_prefix: str = "") -> tuple[str, float | None, float | None, str | None]:
    """Where a stop is: `(precision, lat, lon, place)`.

    A map point wins (`point`); otherwise a place name is looked up in the stop's country
    (`city`, with the gazetteer's coordinates and spelling); otherwise only the country is
    known (`country`, no coordinates). An unknown place is an error, never a silent fall back
    to the whole country: the traveller should know we cannot place them.
    `stop.country` must already be a valid code.
    """
    col = ErrorCollector()
    lat = col.run(parse_lat, stop.lat, field=f"{field_prefix}lat")
    lon = col.run(parse_lon, stop.lon, field=f"{field_prefix}lon")
    place = col.run(normalise_place, stop.place, field=f"{field_prefix}place")
    if col.errors:
        raise ValidationFailed(col.errors)
    if (lat is None) != (lon is None):  # exactly one of the pair was given
        missing = "lon" if lat is not None else "lat"
        raise ValidationFailed.single(
            f"{field_prefix}{missing}", N_("Give both latitude and longitude, or neither."))
    if lat is not None and lon is not None:
        country = str(stop.country).strip().upper()
        if not _point_in_country(country, lat, lon):
            raise ValidationFailed.single(
                f"{field_prefix}lat", N_("The point on the map is not in %(country)s."),
                country=countries.country_name(country, "en") or country, country_code=country)
        return "point", lat, lon, place
    if place:
        country = str(stop.country).strip().upper()
        found = gazetteer.resolve_place(country, place)
        if found is None:
            raise ValidationFailed.single(
                f"{field_prefix}place", N_("We could not find %(place)s in %(country)s."),
                place=place, country=countries.country_name(country, "en") or country,
                country_code=country, suggestions=_suggestions(country, place))
        return "city", float(found.lat), float(found.lon), found.name
    return "country", None, None, None


# About 50 km: the shipped country shapes are simplified, and a traveller on a boat or an
# offshore island near the coast must not be refused.
POINT_TOLERANCE_DEGREES = 0.5


def _point_in_country(country: str, lat: float, lon: float) -> bool:
    """Whether a map point is in (or within ~50 km of) the stop's country; a point given
    for the wrong country would place the traveller where the alert never reaches them."""
    geometry = countries.country_geometry(country, with_territories=True)
    if geometry is None:
        return True
    return bool(shapely.dwithin(geometry, shapely.Point(lon, lat), POINT_TOLERANCE_DEGREES))


def _suggestions(country: str, place: str) -> list[str]:
    """Up to five names starting like the one we could not find, to offer on the form."""
    try:
        return [p.name for p in gazetteer.suggest(country, place[:3], 5)]
    except Exception:  # suggestions are a courtesy; never let them hide the real error
        return []


def validate_stop(stop: StopInput, index: int) -> CleanStop:
    """Check and locate one stop; field names are `stops-<index>-<field>`."""
    prefix = f"stops-{index}-"
    col = ErrorCollector()
    country = col.run(normalise_country, stop.country, field=f"{prefix}country")
    arrival = col.run(parse_date, stop.arrival, field=f"{prefix}arrival")
    departure = col.run(parse_date, stop.departure, field=f"{prefix}departure", required=False)
    if arrival and departure:
        col.run(check_window, arrival, departure, field=f"{prefix}departure")
    address = col.run(normalise_address, stop.address, field=f"{prefix}address")
    located = None
    if country:
        located = col.run(locate_stop, StopInput(country=country, place=stop.place, lat=stop.lat,
                                                 lon=stop.lon), field_prefix=prefix)
    else:  # still report bad coordinates even when the country is wrong
        col.run(parse_lat, stop.lat, field=f"{prefix}lat")
        col.run(parse_lon, stop.lon, field=f"{prefix}lon")
    if col.errors:
        raise ValidationFailed(col.errors)
    precision, lat, lon, place = located
    return CleanStop(country=country, place=place, lat=lat, lon=lon, precision=precision,
                     arrival=arrival, departure=departure, address=address)


def validate_traveller(data: TravellerInput) -> CleanTraveller:
    """Check every field and stop, collecting all errors into one `ValidationFailed`."""
    col = ErrorCollector()
    given = col.run(normalise_name, data.given_name, field="given_name")
    family = col.run(normalise_name, data.family_name, field="family_name")
    language = col.run(normalise_language, data.language, field="language")
    email = phone = None
    if is_blank(data.email) and is_blank(data.phone):
        col.add("email", N_("Give an email address or a mobile number so we can reach you."))
    if not is_blank(data.email):
        email = col.run(normalise_email, data.email, field="email")
    if not is_blank(data.phone):
        phone = col.run(normalise_phone, data.phone, field="phone")
    external_id = None if is_blank(data.external_id) else str(data.external_id).strip()
    if external_id and len(external_id) > MAX_EXTERNAL_ID_LENGTH:
        col.add("external_id", N_("At most %(max)d characters."), max=MAX_EXTERNAL_ID_LENGTH)
    purpose = col.run(normalise_purpose, data.purpose)
    date_of_birth = col.run(normalise_date_of_birth, data.date_of_birth)
    phone2 = None if is_blank(data.phone2) else col.run(normalise_phone, data.phone2, field="phone2")
    companions = col.run(validate_companions, data.companions) or ()
    contacts = col.run(validate_contacts, data.emergency_contacts) or ()
    consent_version = None if is_blank(data.consent_version) else str(data.consent_version).strip()[:20]
    stops: list[CleanStop] = []
    if not data.stops:
        col.add("stops", N_("Add at least one destination."))
    elif len(data.stops) > MAX_STOPS:
        col.add("stops", N_("At most %(max)d destinations per trip."), max=MAX_STOPS)
    else:
        for index, stop in enumerate(data.stops):
            clean = col.run(validate_stop, stop, index)
            if clean is not None:
                stops.append(clean)
    if col.errors:
        raise ValidationFailed(col.errors)
    return CleanTraveller(given_name=given, family_name=family, email=email, phone=phone,
                          language=language, stops=tuple(stops), external_id=external_id,
                          purpose=purpose, date_of_birth=date_of_birth, phone2=phone2,
                          companions=tuple(companions), emergency_contacts=tuple(contacts),
                          consent_version=consent_version)


def register_traveller(session: Session, data: TravellerInput | CleanTraveller,
                       source: str = "web") -> Traveller:
    """Create a traveller with one trip holding the stops; consent is recorded now.

    Raises `ValidationFailed` and writes nothing when anything is wrong. Flushes (so ids
    exist) but does not commit.
    """
    clean = data if isinstance(data, CleanTraveller) else validate_traveller(data)
    if clean.external_id is not None:
        taken = session.scalar(select(Traveller.id).where(Traveller.external_id == clean.external_id,
                                                          Traveller.partner_id.is_(None)))
        if taken is not None:
            raise ValidationFailed.single("external_id", N_("The identifier %(value)s is already in use."),
                                          value=clean.external_id)
    now = utcnow()
    traveller = Traveller(
        external_id=clean.external_id, given_name=clean.given_name,
        family_name=clean.family_name, email=clean.email, phone=clean.phone,
        language=clean.language, source=source, consent_at=now, created_at=now, updated_at=now,
        date_of_birth=clean.date_of_birth, phone2=clean.phone2, consent_version=clean.consent_version,
    )
    traveller.companions = companion_rows(clean.companions)
    traveller.emergency_contacts = contact_rows(clean.emergency_contacts)
    session.add(traveller)
    session.flush()  # Stop.traveller_id is denormalised: it needs the id now
    trip = Trip(traveller_id=traveller.id, purpose=clean.purpose, created_at=now)
    trip.stops = [
        Stop(traveller_id=traveller.id, country=s.country, place=s.place, lat=s.lat, lon=s.lon,
             precision=s.precision, arrival=s.arrival, departure=s.departure, address=s.address)
        for s in clean.stops
    ]
    traveller.trips.append(trip)
    session.flush()
    return traveller


def companion_rows(companions) -> list[Companion]:
    """New `Companion` rows for clean companions (the caller attaches them to a traveller)."""
    return [Companion(given_name=c.given_name, family_name=c.family_name, age_band=c.age_band,
                      email=c.email, phone=c.phone, non_citizen=c.non_citizen) for c in companions]


def contact_rows(contacts) -> list[EmergencyContact]:
    """New `EmergencyContact` rows for clean contacts."""
    return [EmergencyContact(name=c.name, relationship=c.relationship, phone=c.phone, email=c.email,
                             language=c.language) for c in contacts]


def find_traveller_by_contact(session: Session, email: str | None = None,
                              phone: str | None = None) -> Traveller | None:
    """The traveller with this email (case-insensitive) or phone (any format we can read).

    Unreadable input finds nobody rather than raising: this answers "do we know this
    person?", e.g. for an inbound SMS or a sign-in link request.
    """
    conditions = []
    if email and str(email).strip():
        try:
            clean_email = normalise_email(email)
        except ValidationFailed:
            clean_email = str(email).strip()
        conditions.append(func.lower(Traveller.email) == clean_email.lower())
    if phone and str(phone).strip():
        try:
            conditions.append(Traveller.phone == normalise_phone(phone))
        except ValidationFailed:
            pass
    if not conditions:
        return None
    return session.scalars(
        select(Traveller).where(or_(*conditions)).order_by(Traveller.id).limit(1)
    ).first()
