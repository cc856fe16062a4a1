"""JSON in and out for travellers in the HTTP API: the same fields as the public form.

`traveller_input(data)` turns a request body into a `TravellerInput` (anything of the wrong
shape is left for the registry's checks to refuse by field name); `traveller_json(t)` is the
response body. Kept apart from api.py so every JSON endpoint (coordinators, partners) reads
and writes a traveller the same way.
"""
from __future__ import annotations

from typing import Any

from registry.household import CompanionInput, ContactInput
from registry.models import Traveller
from registry.service import StopInput, TravellerInput


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def traveller_input(data: dict, **extra: Any) -> TravellerInput:
    stops = _dicts(data.get("stops"))
    companions = _dicts(data.get("companions"))
    contacts = _dicts(data.get("emergency_contacts"))
    return TravellerInput(
        given_name=data.get("given_name"), family_name=data.get("family_name"),
        email=data.get("email"), phone=data.get("phone"), language=data.get("language"),
        external_id=data.get("external_id"), purpose=data.get("purpose"),
        date_of_birth=data.get("date_of_birth"), phone2=data.get("phone2"),
        stops=[StopInput(country=s.get("country"), place=s.get("place"), lat=s.get("lat"),
                         lon=s.get("lon"), arrival=s.get("arrival"), departure=s.get("departure"),
                         address=s.get("address")) for s in stops],
        companions=[CompanionInput(given_name=c.get("given_name"), family_name=c.get("family_name"),
                                   age_band=c.get("age_band"), email=c.get("email"),
                                   phone=c.get("phone"), non_citizen=bool(c.get("non_citizen")))
                    for c in companions],
        emergency_contacts=[ContactInput(name=c.get("name"), relationship=c.get("relationship"),
                                         phone=c.get("phone"), email=c.get("email"),
                                         language=c.get("language") or "en") for c in contacts],
        **extra,
    )


def traveller_json(t: Traveller, contacts: bool = True) -> dict:
    """The record; without `contacts` (a reader whose role may not export contact details,
    see `services.exports.may_export_contacts`), every email and phone number is null."""
    def shown(value):
        return value if contacts else None

    return {
        "id": t.id, "external_id": t.external_id, "given_name": t.given_name,
        "family_name": t.family_name, "email": shown(t.email), "phone": shown(t.phone), "phone2": shown(t.phone2),
        "language": t.language,
        "date_of_birth": t.date_of_birth.isoformat() if t.date_of_birth else None,
        "consent_version": t.consent_version,
        "consent_at": t.consent_at.isoformat() if t.consent_at else None,
        "companions": [{"id": c.id, "given_name": c.given_name, "family_name": c.family_name,
                        "age_band": c.age_band, "email": shown(c.email), "phone": shown(c.phone),
                        "non_citizen": bool(c.non_citizen)} for c in t.companions],
        "emergency_contacts": [{"id": c.id, "name": c.name, "relationship": c.relationship,
                                "phone": shown(c.phone), "email": shown(c.email), "language": c.language}
                               for c in t.emergency_contacts],
        "trips": [{
            "id": trip.id, "purpose": trip.purpose,
            "stops": [{"id": s.id, "country": s.country, "place": s.place, "address": s.address,
                       "lat": s.lat, "lon": s.lon, "precision": s.precision,
                       "arrival": s.arrival.isoformat(),
                       "departure": s.departure.isoformat() if s.departure else None}
                      for s in trip.stops],
        } for trip in t.trips],
    }
