"""Field checks shared by the form, the API and the importer: what is accepted, how it is
normalised, and that every kind of bad input is refused with the field named."""
from __future__ import annotations

from datetime import date

import pytest

from registry.errors import FieldError, ValidationFailed
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


def refused(check, *args, **kwargs) -> FieldError:
    with pytest.raises(ValidationFailed) as info:
        check(*args, **kwargs)
    assert len(info.value.errors) == 1
    return info.value.errors[0]


# --- email -------------------------------------------------------------------------------

def test_email_domain_is_lower_cased_and_spaces_trimmed():
    assert normalise_email("  Jean.Tremblay@Example.ORG ") == "Jean.Tremblay@example.org"


def test_email_with_accented_local_part_is_accepted():
    assert normalise_email("émilie@exemple.ca") == "émilie@exemple.ca"


@pytest.mark.parametrize("raw", ["jean", "jean@", "@example.org", "jean@example", "a b@example.org",
                                 "jean@@example.org", "jean@exa mple.org"])
def test_malformed_email_is_refused_on_the_email_field(raw):
    err = refused(normalise_email, raw)
    assert err.field == "email"
    assert "valid email" in err.render()


def test_blank_email_asks_for_one():
    assert refused(normalise_email, "   ").message == "Enter an email address."


def test_overlong_email_is_refused():
    err = refused(normalise_email, "a" * 250 + "@example.org")
    assert err.params["max"] == 254


def test_email_error_uses_the_field_name_given():
    assert refused(normalise_email, "nope", field="contact_email").field == "contact_email"


# --- phone -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["+1 613 555 0199", "+1 (613) 555-0199", "+16135550199",
                                 "001 613 555 0199"])
def test_international_phone_formats_become_e164(raw):
    assert normalise_phone(raw) == "+16135550199"


def test_french_mobile_is_accepted():
    assert normalise_phone("+33 6 12 34 56 78") == "+33612345678"


def test_number_without_country_code_is_refused_with_advice():
    err = refused(normalise_phone, "613 555 0199")
    assert err.field == "phone"
    assert "international format" in err.message


def test_number_without_country_code_is_read_with_a_region_hint():
    assert normalise_phone("(613) 555-0199", region_hint="ca") == "+16135550199"


@pytest.mark.parametrize("raw", ["+1 613 555", "+1 000 555 0199", "+44 12", "+999 123 456 789",
                                 "not a number", "+"])
def test_malformed_or_impossible_numbers_are_refused(raw):
    assert refused(normalise_phone, raw).field == "phone"


def test_french_landline_is_refused_because_it_cannot_take_texts():
    err = refused(normalise_phone, "+33 1 42 68 53 00")
    assert "mobile" in err.message


def test_blank_phone_asks_for_one():
    assert refused(normalise_phone, "").message == "Enter a mobile phone number."


# --- country, language, names, places ----------------------------------------------------

@pytest.mark.parametrize("raw", ["ca", " CA ", "Ca"])
def test_country_code_is_upper_cased(raw):
    assert normalise_country(raw) == "CA"


@pytest.mark.parametrize("raw", ["XX", "CAN", "C", "12"])
def test_unknown_country_code_is_refused(raw):
    err = refused(normalise_country, raw, field="stops-0-country")
    assert err.field == "stops-0-country"
    assert err.message.startswith("Unknown country code")
    assert err.params["code"] == raw.upper()


def test_missing_country_asks_to_choose_one():
    assert refused(normalise_country, None).message == "Choose a country."


@pytest.mark.parametrize("raw,expected", [("en", "en"), ("FR", "fr"), (" fr ", "fr")])
def test_language_is_english_or_french(raw, expected):
    assert normalise_language(raw) == expected


@pytest.mark.parametrize("raw", ["de", "", None, "english", "fr-CA"])
def test_other_languages_are_refused(raw):
    assert refused(normalise_language, raw).field == "language"


def test_name_is_trimmed_and_inner_spaces_collapsed():
    assert normalise_name("  Marie   Ève ", field="given_name") == "Marie Ève"


def test_blank_name_is_required():
    err = refused(normalise_name, "   ", field="family_name")
    assert (err.field, err.message) == ("family_name", "This field is required.")


def test_name_longer_than_100_characters_is_refused_but_100_is_fine():
    assert normalise_name("x" * 100, field="given_name") == "x" * 100
    assert refused(normalise_name, "x" * 101, field="given_name").params["max"] == 100


def test_blank_place_means_no_place():
    assert normalise_place("  ") is None
    assert normalise_place(" Québec ") == "Québec"


# --- dates -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["2025-03-14", "20250314", "2025-03-14T09:30:00Z",
                                 "2025-03-14T23:30:00-05:00", date(2025, 3, 14)])
def test_iso_8601_dates_are_read(raw):
    assert parse_date(raw, field="arrival") == date(2025, 3, 14)


@pytest.mark.parametrize("raw", ["14/03/2025", "2025-02-30", "2025-13-01", "tomorrow", "2025-3-14x"])
def test_non_iso_or_impossible_dates_are_refused(raw):
    err = refused(parse_date, raw, field="stops-1-arrival")
    assert err.field == "stops-1-arrival"
    assert "YYYY-MM-DD" in err.message


def test_missing_date_is_an_error_only_when_required():
    assert parse_date("", field="departure", required=False) is None
    assert refused(parse_date, "", field="arrival").message == "Enter a date."


def test_departure_before_arrival_is_refused():
    err = refused(check_window, date(2025, 3, 14), date(2025, 3, 13), field="stops-0-departure")
    assert err.field == "stops-0-departure"
    assert "before the arrival" in err.message


def test_same_day_or_open_departure_is_fine():
    check_window(date(2025, 3, 14), date(2025, 3, 14))
    check_window(date(2025, 3, 14), None)


# --- coordinates -------------------------------------------------------------------------

def test_coordinates_at_the_limits_are_accepted():
    assert parse_lat("-90") == -90.0 and parse_lat(90) == 90.0
    assert parse_lon("180") == 180.0 and parse_lon(-180.0) == -180.0


def test_blank_coordinates_mean_none():
    assert parse_lat("") is None and parse_lon(None) is None


@pytest.mark.parametrize("check,raw", [(parse_lat, "90.0001"), (parse_lat, "-91"), (parse_lon, "180.5"),
                                       (parse_lon, "-181"), (parse_lat, "nan"), (parse_lon, "inf"),
                                       (parse_lat, "north"), (parse_lon, "1,5")])
def test_coordinates_out_of_range_or_not_numbers_are_refused(check, raw):
    assert refused(check, raw).field in ("lat", "lon")


# --- error objects -----------------------------------------------------------------------

def test_field_error_renders_through_a_translator():
    err = FieldError("stops-0-place", "We could not find %(place)s in %(country)s.",
                     {"place": "Atlantis", "country": "Canada"})
    assert err.render() == "We could not find Atlantis in Canada."
    french = {"We could not find %(place)s in %(country)s.": "Nous n'avons pas trouvé %(place)s (%(country)s)."}
    assert err.render(french.get) == "Nous n'avons pas trouvé Atlantis (Canada)."


def test_validation_failed_groups_messages_by_field():
    failed = ValidationFailed([FieldError("email", "A"), FieldError("email", "B"), FieldError("phone", "C")])
    assert failed.as_dict() == {"email": ["A", "B"], "phone": ["C"]}
    assert failed.fields == {"email", "phone"}
