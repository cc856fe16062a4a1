"""Registration: every error reported at once, each stop located at the right precision,
and traveller, trip and stops written together (or not at all)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from registry.errors import ValidationFailed
from registry.models import Stop, Traveller, Trip
from registry.service import (
    StopInput,
    TravellerInput,
    find_traveller_by_contact,
    locate_stop,
    register_traveller,
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


# --- complete records: companions, emergency contacts, extras ------------------------

from registry.household import CompanionInput, ContactInput  # noqa: E402
from registry.models import Companion, EmergencyContact  # noqa: E402


def companion(**overrides) -> CompanionInput:
    values = dict(given_name="Léa", family_name="Tremblay", age_band="5-11")
    values.update(overrides)
    return CompanionInput(**values)


def contact(**overrides) -> ContactInput:
    values = dict(name="Marie Tremblay", relationship="mère", phone="+1 514 555 0123", language="fr")
    values.update(overrides)
    return ContactInput(**values)


def test_ten_companions_are_accepted_but_an_eleventh_is_refused_on_the_companions_field():
    assert len(validate_traveller(traveller(companions=[companion()] * 10)).companions) == 10
    errors = errors_of(traveller(companions=[companion()] * 11))
    assert list(errors) == ["companions"]


def test_a_companion_with_a_bad_phone_is_named_by_position_and_field():
    errors = errors_of(traveller(companions=[companion(), companion(phone="613 555 0199")]))
    assert set(errors) == {"companions-1-phone"}


def test_a_companion_needs_names_and_a_known_age_band():
    errors = errors_of(traveller(companions=[companion(given_name=" ", family_name="", age_band="adult")]))
    assert set(errors) == {"companions-0-given_name", "companions-0-family_name", "companions-0-age_band"}


def test_a_companions_own_contacts_are_optional_and_normalised():
    clean = validate_traveller(traveller(companions=[
        companion(email="Kid@Example.ORG", phone="+33 6 12 34 56 78", non_citizen="on"), companion()]))
    first, second = clean.companions
    assert (first.email, first.phone, first.non_citizen) == ("Kid@example.org", "+33612345678", True)
    assert (second.email, second.phone, second.non_citizen) == (None, None, False)


def test_an_emergency_contact_with_neither_phone_nor_email_is_refused():
    errors = errors_of(traveller(emergency_contacts=[contact(phone="", email=None)]))
    assert set(errors) == {"contacts-0-phone"}


def test_an_emergency_contact_with_a_bad_email_or_language_is_named_by_field():
    errors = errors_of(traveller(emergency_contacts=[contact(), contact(email="not-an-email", language="de")]))
    assert set(errors) == {"contacts-1-email", "contacts-1-language"}


def test_an_emergency_contact_reachable_by_email_only_is_accepted():
    (only,) = validate_traveller(traveller(emergency_contacts=[contact(phone=None, email="m@example.org")])).emergency_contacts
    assert (only.phone, only.email, only.language) == (None, "m@example.org", "fr")


def test_purpose_must_come_from_the_fixed_list_in_any_case():
    assert validate_traveller(traveller(purpose=" Business ")).purpose == "business"
    assert set(errors_of(traveller(purpose="spying"))) == {"purpose"}


def test_date_of_birth_is_optional_but_never_in_the_future_or_absurd():
    assert validate_traveller(traveller(date_of_birth="1980-02-29")).date_of_birth == date(1980, 2, 29)
    assert validate_traveller(traveller(date_of_birth="")).date_of_birth is None
    for bad in ("2999-01-01", "1800-01-01", "29/02/1980"):
        assert set(errors_of(traveller(date_of_birth=bad))) == {"date_of_birth"}, bad


def test_second_phone_is_normalised_to_e164_and_checked_like_the_first():
    assert validate_traveller(traveller(phone2="0033 6 12 34 56 78")).phone2 == "+33612345678"
    assert set(errors_of(traveller(phone2="12"))) == {"phone2"}


def test_stop_address_is_kept_and_limited_to_300_characters():
    clean = validate_traveller(traveller(stops=[StopInput(country="CA", arrival="2025-06-01",
                                                          address="  Hôtel  Le Germain, Montréal ")]))
    assert clean.stops[0].address == "Hôtel Le Germain, Montréal"
    errors = errors_of(traveller(stops=[StopInput(country="CA", arrival="2025-06-01", address="x" * 301)]))
    assert set(errors) == {"stops-0-address"}


def test_mexico_typed_with_country_mx_is_mexico_city_not_the_country():
    precision, lat, lon, place = locate_stop(StopInput(country="MX", place="Mexico"))
    assert precision == "city" and place == "Mexico City"
    assert 19.0 < lat < 19.7


def test_complete_record_is_written_with_companions_contacts_and_extras(backend_session):
    t = register_traveller(backend_session, traveller(
        date_of_birth="1980-01-02", phone2="+33 6 12 34 56 78", purpose="family", consent_version="2026-11",
        companions=[companion(non_citizen=True), companion(given_name="Noé", age_band="0-4")],
        emergency_contacts=[contact()],
        stops=[StopInput(country="CA", place="Montréal", arrival="2025-06-01", address="12 rue X")]))
    backend_session.commit()
    backend_session.expire_all()
    saved = backend_session.get(Traveller, t.id)
    assert (saved.date_of_birth, saved.phone2, saved.consent_version) == (date(1980, 1, 2), "+33612345678", "2026-11")
    assert [(c.given_name, c.age_band, c.non_citizen) for c in saved.companions] == [
        ("Léa", "5-11", True), ("Noé", "0-4", False)]
    assert [(c.name, c.phone, c.language) for c in saved.emergency_contacts] == [
        ("Marie Tremblay", "+15145550123", "fr")]
    assert saved.trips[0].purpose == "family" and saved.trips[0].stops[0].address == "12 rue X"


def test_callers_that_know_nothing_of_the_new_fields_still_register(backend_session):
    t = register_traveller(backend_session, traveller())
    backend_session.commit()
    assert (t.companions, t.emergency_contacts, t.phone2, t.date_of_birth) == ([], [], None, None)


def test_deleting_a_traveller_deletes_companions_contacts_trips_and_stops(backend_session):
    from registry.selfservice import delete_traveller

    keep = register_traveller(backend_session, traveller(email="other@example.org", phone=None,
                                                         companions=[companion()]))
    gone = register_traveller(backend_session, traveller(companions=[companion()], emergency_contacts=[contact()]))
    backend_session.commit()
    assert delete_traveller(backend_session, gone) == gone.id
    backend_session.commit()
    for model in (Traveller, Trip, Stop, Companion):
        assert backend_session.scalar(select(func.count()).select_from(model)) == 1, model
    assert backend_session.scalar(select(func.count()).select_from(EmergencyContact)) == 0
    assert backend_session.get(Traveller, keep.id) is not None


def test_back_home_ends_the_stop_under_way_today_and_drops_the_rest_of_that_trip(backend_session):
    from registry.selfservice import add_trip, back_home

    t = register_traveller(backend_session, traveller(stops=[
        StopInput(country="CA", arrival="2025-06-01", departure="2025-06-10"),
        StopInput(country="FR", arrival="2025-06-11", departure="2025-06-20")]))
    later = add_trip(backend_session, t, [StopInput(country="PE", arrival="2025-09-01")])
    backend_session.commit()
    assert back_home(backend_session, t, today=date(2025, 6, 5)) == 1
    backend_session.commit()
    backend_session.expire_all()
    first = [trip for trip in t.trips if trip.id != later.id][0]
    assert [(s.country, s.departure) for s in first.stops] == [("CA", date(2025, 6, 5))]
    assert [(s.country, s.departure) for s in backend_session.get(Trip, later.id).stops] == [("PE", None)]
    assert back_home(backend_session, t, today=date(2025, 8, 1)) == 0


def test_a_traveller_cannot_cancel_someone_elses_trip(backend_session):
    from registry.selfservice import cancel_trip

    mine = register_traveller(backend_session, traveller())
    theirs = register_traveller(backend_session, traveller(email="x@example.org", phone=None))
    backend_session.commit()
    assert cancel_trip(backend_session, mine, theirs.trips[0].id) is False
    assert cancel_trip(backend_session, mine, "not-a-number") is False
    assert cancel_trip(backend_session, mine, mine.trips[0].id) is True
    backend_session.commit()
    assert backend_session.scalar(select(func.count()).select_from(Trip)) == 1


def test_contact_update_keeps_an_email_or_a_phone_and_normalises_them(backend_session):
    from registry.selfservice import update_contacts

    t = register_traveller(backend_session, traveller())
    with pytest.raises(ValidationFailed) as info:
        update_contacts(backend_session, t, email="", phone=" ", phone2="+1 613 555 0199")
    assert set(info.value.as_dict()) == {"email"}
    with pytest.raises(ValidationFailed) as info:
        update_contacts(backend_session, t, email="bad@", phone="+1 613 555 0199", language="de")
    assert set(info.value.as_dict()) == {"email", "language"}
    update_contacts(backend_session, t, email="New@Example.ORG", phone="", phone2="0033612345678", language="en")
    assert (t.email, t.phone, t.phone2, t.language) == ("New@example.org", None, "+33612345678", "en")
