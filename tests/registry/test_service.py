"""Registration: every error reported at once, each stop located at the right precision,
and traveller, trip and stops written together (or not at all)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from registry.errors import ValidationFailed
from registry.models import Stop, Traveller, Trip
from registry.service import (
    StopInput, TravellerInput, find_traveller_by_contact, locate_stop, register_traveller,
    validate_traveller,
)


def traveller(**overrides) -> TravellerInput:
    values = dict(
        given_name="Jean", family_name="Tremblay", email="jean.tremblay@example.org",
        phone="+1 613 555 0199", language="fr",
        stops=[StopInput(country="CA", place="Montréal", arrival="2025-06-01", departure="2025-06-05")],
    )
    values.update(overrides)
    return TravellerInput(**values)


def errors_of(data: TravellerInput) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        validate_traveller(data)
    return info.value.as_dict()


# --- locating stops ----------------------------------------------------------------------

def test_known_city_is_located_at_city_precision_with_the_gazetteer_spelling():
    precision, lat, lon, place = locate_stop(StopInput(country="CA", place="montreal"))
    assert precision == "city" and place == "Montréal"
    assert 45.3 < lat < 45.8 and -74.0 < lon < -73.3


def test_map_point_is_located_at_point_precision_and_keeps_its_label():
    assert locate_stop(StopInput(country="FR", lat="48.8566", lon="2.3522", place="Hotel")) == (
        "point", 48.8566, 2.3522, "Hotel")


def test_map_point_outside_the_chosen_country_is_refused():
    with pytest.raises(ValidationFailed) as info:
        locate_stop(StopInput(country="FR", lat="20", lon="0"), field_prefix="stops-0-")
    assert "stops-0-lat" in info.value.as_dict()


def test_map_point_just_off_the_coast_or_across_the_antimeridian_is_accepted():
    assert locate_stop(StopInput(country="PT", lat="38.69", lon="-9.45"))[0] == "point"
    assert locate_stop(StopInput(country="FJ", lat="-16.5", lon="-179.9"))[0] == "point"


def test_stop_with_neither_place_nor_point_is_country_precision_without_coordinates():
    assert locate_stop(StopInput(country="PE")) == ("country", None, None, None)


def test_unknown_place_is_an_error_not_a_silent_fall_back_to_the_country():
    with pytest.raises(ValidationFailed) as info:
        locate_stop(StopInput(country="CA", place="Atlantis"), field_prefix="stops-2-")
    [err] = info.value.errors
    assert err.field == "stops-2-place"
    assert err.render() == "We could not find Atlantis in Canada."
    assert err.params["country_code"] == "CA"


def test_place_is_only_looked_up_in_the_stops_own_country():
    with pytest.raises(ValidationFailed):
        locate_stop(StopInput(country="FR", place="Toronto"))


def test_latitude_without_longitude_is_refused():
    with pytest.raises(ValidationFailed) as info:
        locate_stop(StopInput(country="FR", lat="48.8"))
    assert info.value.fields == {"lon"}


# --- validation --------------------------------------------------------------------------

def test_valid_registration_is_normalised():
    clean = validate_traveller(traveller(email="Jean.Tremblay@EXAMPLE.org", phone="+1 (613) 555-0199",
                                         language="FR", given_name="  Jean "))
    assert (clean.given_name, clean.email, clean.phone, clean.language) == (
        "Jean", "Jean.Tremblay@example.org", "+16135550199", "fr")
    assert clean.stops[0].arrival == date(2025, 6, 1)


def test_every_bad_field_is_reported_at_once_with_its_form_field_name():
    errors = errors_of(traveller(
        given_name="", email="jean@", phone="613 555 0199", language="de",
        stops=[StopInput(country="XX", arrival="2025-06-01"),
               StopInput(country="CA", arrival="2025-06-10", departure="2025-06-01"),
               StopInput(country="CA", place="Atlantis", arrival="not a date")],
    ))
    assert set(errors) == {"given_name", "email", "phone", "language", "stops-0-country",
                           "stops-1-departure", "stops-2-place", "stops-2-arrival"}


def test_a_registration_needs_an_email_or_a_phone():
    assert "email" in errors_of(traveller(email="", phone=" "))
    assert validate_traveller(traveller(email="")).email is None
    assert validate_traveller(traveller(phone=None)).phone is None


def test_a_registration_needs_at_least_one_stop():
    assert set(errors_of(traveller(stops=[]))) == {"stops"}


def test_stop_needs_an_arrival_date_but_departure_may_be_open():
    assert "stops-0-arrival" in errors_of(traveller(stops=[StopInput(country="CA")]))
    clean = validate_traveller(traveller(stops=[StopInput(country="FR", arrival="2025-01-01")]))
    assert clean.stops[0].departure is None


def test_bad_coordinates_are_reported_even_when_the_country_is_wrong():
    errors = errors_of(traveller(stops=[StopInput(country="XX", lat="95", lon="0", arrival="2025-01-01")]))
    assert {"stops-0-country", "stops-0-lat"} <= set(errors)


# --- registration ------------------------------------------------------------------------

def test_registration_writes_traveller_trip_and_located_stops(backend_session):
    session = backend_session
    saved = register_traveller(session, traveller(stops=[
        StopInput(country="CA", place="Montréal", arrival="2025-06-01", departure="2025-06-05"),
        StopInput(country="FR", lat=48.8566, lon=2.3522, arrival="2025-06-05", departure="2025-06-09"),
        StopInput(country="PE", arrival="2025-06-09", departure="2025-06-20"),
    ]), source="api")
    session.commit()
    session.expunge_all()

    stored = session.get(Traveller, saved.id)
    assert stored.source == "api" and stored.consent_at is not None
    assert stored.phone == "+16135550199"
    [trip] = stored.trips
    assert [(s.precision, s.place, s.country) for s in trip.stops] == [
        ("city", "Montréal", "CA"), ("point", None, "FR"), ("country", None, "PE")]
    city, point, country = trip.stops
    assert city.lat == pytest.approx(45.5, abs=0.2) and city.lon == pytest.approx(-73.6, abs=0.2)
    assert (point.lat, point.lon) == (48.8566, 2.3522)
    assert (country.lat, country.lon) == (None, None)
    assert {s.traveller_id for s in trip.stops} == {stored.id}


def test_refused_registration_writes_nothing(backend_session):
    session = backend_session
    with pytest.raises(ValidationFailed):
        register_traveller(session, traveller(stops=[StopInput(country="CA", place="Atlantis",
                                                               arrival="2025-06-01")]))
    session.commit()
    for table in (Traveller, Trip, Stop):
        assert session.scalar(select(func.count()).select_from(table)) == 0


def test_an_external_id_can_only_be_registered_once(backend_session):
    session = backend_session
    register_traveller(session, traveller(external_id="P-1"))
    with pytest.raises(ValidationFailed) as info:
        register_traveller(session, traveller(external_id="P-1", email="other@example.org"))
    assert info.value.fields == {"external_id"}


def test_register_does_not_commit(backend_session):
    session = backend_session
    register_traveller(session, traveller())
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Traveller)) == 0


def test_traveller_is_found_by_email_in_any_case_or_phone_in_any_format(backend_session):
    session = backend_session
    saved = register_traveller(session, traveller())
    other = register_traveller(session, traveller(email="someone@example.org", phone="+33 6 12 34 56 78"))
    session.commit()
    assert find_traveller_by_contact(session, email="JEAN.TREMBLAY@example.ORG").id == saved.id
    assert find_traveller_by_contact(session, phone="+1 (613) 555-0199").id == saved.id
    assert find_traveller_by_contact(session, phone="+33612345678").id == other.id


def test_unknown_or_unreadable_contacts_find_nobody(backend_session):
    session = backend_session
    register_traveller(session, traveller())
    session.commit()
    assert find_traveller_by_contact(session, email="nobody@example.org") is None
    assert find_traveller_by_contact(session, phone="not a phone") is None
    assert find_traveller_by_contact(session) is None
