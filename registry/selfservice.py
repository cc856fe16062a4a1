"""What a signed-in traveller may do to their own record, without staff: change how we reach
them, add or cancel a trip, say they are back home, and erase themselves.

Every function takes the traveller (already identified by the web layer's sign-in link) and
a `Session`, checks input with the same rules as registration, flushes and never commits.
A trip id that is not the traveller's own is treated as absent: travellers never see or
touch each other's records.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.clock import utcnow
from common.i18n import N_
from registry.errors import ValidationFailed
from registry.household import normalise_purpose
from registry.models import Stop, Traveller, Trip
from registry.service import MAX_STOPS, ErrorCollector, StopInput, is_blank, validate_stop
from registry.validation import normalise_email, normalise_language, normalise_phone

CONTACT_FIELDS = ("email", "phone", "phone2")


def clean_contacts(traveller: Traveller, *, email: Any, phone: Any, phone2: Any = None,
                   language: Any = None) -> dict[str, str | None]:
    """The contact details as they would be saved (raises ValidationFailed); nothing changes."""
    col = ErrorCollector()
    if is_blank(email) and is_blank(phone):
        col.add("email", N_("Give an email address or a mobile number so we can reach you."))
    clean_email = None if is_blank(email) else col.run(normalise_email, email, field="email")
    clean_phone = None if is_blank(phone) else col.run(normalise_phone, phone, field="phone")
    clean_phone2 = None if is_blank(phone2) else col.run(normalise_phone, phone2, field="phone2")
    clean_language = traveller.language if is_blank(language) else col.run(
        normalise_language, language, field="language")
    if col.errors:
        raise ValidationFailed(col.errors)
    return {"email": clean_email, "phone": clean_phone, "phone2": clean_phone2, "language": clean_language}


def update_contacts(session: Session, traveller: Traveller, *, email: Any, phone: Any,
                    phone2: Any = None, language: Any = None, keep: Iterable[str] = ()) -> Traveller:
    """Replace the ways we reach the traveller; an email or a mobile number must remain.
    Fields in `keep` (new addresses not proven yet) keep their current value; a removal that
    would leave neither email nor phone waits with them."""
    clean = clean_contacts(traveller, email=email, phone=phone, phone2=phone2, language=language)
    keep = set(keep)
    applied = {name: getattr(traveller, name) if name in keep else clean[name] for name in CONTACT_FIELDS}
    if not applied["email"] and not applied["phone"]:
        applied["email"], applied["phone"] = traveller.email, traveller.phone
    traveller.email, traveller.phone, traveller.phone2 = applied["email"], applied["phone"], applied["phone2"]
    traveller.language = clean["language"]
    traveller.updated_at = utcnow()
    session.flush()
    return traveller


def add_trip(session: Session, traveller: Traveller, stops: Iterable[StopInput],
             purpose: Any = None) -> Trip:
    """A new trip for the traveller, its stops checked and located like at registration."""
    stops = list(stops)
    col = ErrorCollector()
    clean_purpose = col.run(normalise_purpose, purpose)
    clean = []
    if not stops:
        col.add("stops", N_("Add at least one destination."))
    elif len(stops) > MAX_STOPS:
        col.add("stops", N_("At most %(max)d destinations per trip."), max=MAX_STOPS)
    else:
        for index, stop in enumerate(stops):
            result = col.run(validate_stop, stop, index)
            if result is not None:
                clean.append(result)
    if col.errors:
        raise ValidationFailed(col.errors)
    now = utcnow()
    trip = Trip(traveller_id=traveller.id, purpose=clean_purpose, created_at=now)
    trip.stops = [
        Stop(traveller_id=traveller.id, country=s.country, place=s.place, lat=s.lat, lon=s.lon,
             precision=s.precision, arrival=s.arrival, departure=s.departure, address=s.address)
        for s in clean
    ]
    traveller.trips.append(trip)
    traveller.updated_at = now
    session.flush()
    return trip


def own_trip(session: Session, traveller: Traveller, trip_id: Any) -> Trip | None:
    """The traveller's trip with this id, or None (also for someone else's trip)."""
    try:
        trip_id = int(trip_id)
    except (TypeError, ValueError):
        return None
    return session.scalar(select(Trip).where(Trip.id == trip_id, Trip.traveller_id == traveller.id))


def cancel_trip(session: Session, traveller: Traveller, trip_id: Any) -> bool:
    """Remove one of the traveller's trips and its stops; False when there is no such trip."""
    trip = own_trip(session, traveller, trip_id)
    if trip is None:
        return False
    traveller.trips.remove(trip)  # delete-orphan removes it and its stops
    traveller.updated_at = utcnow()
    session.flush()
    return True


def back_home(session: Session, traveller: Traveller, today: date | None = None) -> int:
    """End the trips under way today: every stop that has started and not ended now ends
    today, and later stops of those same trips are dropped (the traveller came home early).
    Trips that have not started are kept. Returns how many stops were ended."""
    today = today or date.today()
    ended = 0
    for trip in list(traveller.trips):
        ongoing = [s for s in trip.stops
                   if s.arrival <= today and (s.departure is None or s.departure > today)]
        if not ongoing:
            continue
        for stop in ongoing:
            stop.departure = today
            ended += 1
        for stop in [s for s in trip.stops if s.arrival > today]:
            trip.stops.remove(stop)
    if ended:
        traveller.updated_at = utcnow()
    session.flush()
    return ended


def delete_traveller(session: Session, traveller: Traveller) -> int:
    """Erase the traveller and everything hanging off them (trips, stops, companions,
    contacts, and, through the database's cascades, answers and sign-in links).
    Returns the old id, the only thing an audit entry may keep."""
    old_id = traveller.id
    session.delete(traveller)
    session.flush()
    return old_id
