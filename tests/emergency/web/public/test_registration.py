"""The public registration page: a traveller registers a trip in English or French; every bad
input is refused with a message next to its field, in the page's language, and saves nothing."""
from __future__ import annotations

import html as htmllib
import re

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from emergency.core.models import AuditEntry
from registry.models import Stop, Traveller, Trip

GOOD = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+33 6 12 34 56 78",
    "language": "en",
    "stops-0-country": "FR",
    "stops-0-place": "",
    "stops-0-lat": "",
    "stops-0-lon": "",
    "stops-0-arrival": "2030-05-01",
    "stops-0-departure": "2030-05-10",
    "consent": "1",
}


def form(**changes) -> dict:
    data = dict(GOOD)
    for key, value in changes.items():
        key = key.replace("__", "-")  # stops__0__place -> stops-0-place
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def post(client, lang="en", **changes):
    return client.post(f"/register?lang={lang}", data=form(**changes))


def counts(db) -> tuple[int, int, int, int]:
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(model))
                 for model in (Traveller, Trip, Stop, AuditEntry))


def in_french(app, message: str, **params) -> str:
    """The French catalogue's version of a message. Fails loudly if the catalogue does not
    translate it, so a page left in English cannot pass for French."""
    with app.test_request_context(), force_locale("fr"):
        text = gettext(message)
    assert text != message, f"no French translation for {message!r}"
    return text % params if params else text


def in_english(message: str, **params) -> str:
    return message % params if params else message


def page_text(response) -> str:
    """The page with HTML entities decoded, to compare with messages as a reader sees them."""
    return htmllib.unescape(response.get_data(as_text=True))


def field_errors(html: str, field: str) -> list[str]:
    """Messages shown right next to `field` (the page's `<p id="<field>-error">`)."""
    found = re.findall(r'<p class="field-error" id="%s-error">(.*?)</p>' % re.escape(field), html, re.S)
    return [htmllib.unescape(m) for m in found]


def only_stop(db) -> Stop:
    db.expire_all()
    return db.scalars(select(Stop)).one()


# --- the page ------------------------------------------------------------------------------

def test_register_page_renders_in_english_with_every_field(client):
    page = client.get("/register?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="en">' in html
    for name in ("given_name", "family_name", "email", "phone", "language", "consent",
                 "stops-0-country", "stops-0-place", "stops-0-lat", "stops-0-lon",
                 "stops-0-arrival", "stops-0-departure", "csrf_token"):
        assert f'name="{name}"' in html
    assert "I agree that my information is used to contact me in an emergency." in html
    assert "+33 6 12 34 56 78" in html  # the international format hint
    assert '<option value="DE">Germany</option>' in html


def test_register_page_renders_in_french(app, client):
    html = page_text(client.get("/register?lang=fr"))
    assert '<html lang="fr">' in html
    assert in_french(app, "Register your trip") in html
    assert in_french(app, "I agree that my information is used to contact me in an emergency.") in html
    assert '<option value="DE">Allemagne</option>' in html
    assert 'value="fr" checked' in html  # messages in French by default on the French page
    assert 'href="/register?lang=en"' in html  # and a way back to English


def test_register_page_uses_bundled_leaflet_not_a_cdn(client):
    html = client.get("/register").get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "/static/vendor/leaflet/leaflet.css" in html
    assert "unpkg.com" not in html and "cdn" not in html.lower()


def test_page_without_javascript_offers_exactly_one_destination_row(client):
    html = client.get("/register").get_data(as_text=True)
    assert 'name="stops-0-country"' in html
    assert 'name="stops-1-country"' not in html


# --- successful registration ---------------------------------------------------------------

def test_registration_with_country_only_saves_traveller_trip_and_country_stop(client, db):
    response = post(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register/done?lang=en")
    db.expire_all()
    traveller = db.scalars(select(Traveller)).one()
    assert (traveller.given_name, traveller.family_name) == ("Ada", "Lovelace")
    assert traveller.email == "ada@example.com"
    assert traveller.phone == "+33612345678"
    assert traveller.language == "en"
    assert traveller.source == "web"
    assert traveller.consent_at is not None
    trip = db.scalars(select(Trip)).one()
    assert trip.traveller_id == traveller.id
    stop = only_stop(db)
    assert (stop.country, stop.precision, stop.lat, stop.lon) == ("FR", "country", None, None)
    assert stop.arrival.isoformat() == "2030-05-01" and stop.departure.isoformat() == "2030-05-10"


def test_registration_with_a_known_city_stores_city_precision_and_its_coordinates(client, db):
    response = post(client, stops__0__country="CA", stops__0__place="Montréal")
    assert response.status_code == 302
    stop = only_stop(db)
    assert stop.precision == "city"
    assert stop.place == "Montréal"
    assert stop.lat == pytest.approx(45.5, abs=0.2)
    assert stop.lon == pytest.approx(-73.6, abs=0.2)


def test_city_is_found_whatever_the_accents_and_case(client, db):
    assert post(client, stops__0__country="CA", stops__0__place="montreal").status_code == 302
    stop = only_stop(db)
    assert (stop.precision, stop.place) == ("city", "Montréal")


def test_registration_with_a_map_point_stores_point_precision(client, db):
    response = post(client, stops__0__lat="48.8566", stops__0__lon="2.3522")
    assert response.status_code == 302
    stop = only_stop(db)
    assert stop.precision == "point"
    assert (stop.lat, stop.lon) == (pytest.approx(48.8566), pytest.approx(2.3522))


def test_registration_in_french_stores_french_and_thanks_in_french_first(app, client, db):
    response = post(client, lang="fr", language="fr", given_name="Émile", family_name="Nelligan",
                    stops__0__country="CA", stops__0__place="Montréal")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register/done?lang=fr")
    db.expire_all()
    traveller = db.scalars(select(Traveller)).one()
    assert (traveller.given_name, traveller.language) == ("Émile", "fr")
    assert only_stop(db).precision == "city"

    html = page_text(client.get(response.headers["Location"]))
    french = in_french(app, "Thank you, you are registered")
    english = in_english("Thank you, you are registered")
    assert french in html and english in html
    assert html.index(french) < html.index(english)


def test_thank_you_page_in_english_shows_english_first_then_french(app, client):
    html = page_text(client.get("/register/done?lang=en"))
    english = in_english("Thank you, you are registered")
    french = in_french(app, "Thank you, you are registered")
    assert html.index(english) < html.index(french)
    assert '<section class="thanks thanks-other" lang="fr">' in html


def test_several_destinations_are_saved_in_one_trip(client, db):
    response = post(client, **{
        "stops-1-country": "DE", "stops-1-place": "", "stops-1-lat": "", "stops-1-lon": "",
        "stops-1-arrival": "2030-05-10", "stops-1-departure": "2030-05-20",
    })
    assert response.status_code == 302
    db.expire_all()
    trip = db.scalars(select(Trip)).one()
    assert [s.country for s in trip.stops] == ["FR", "DE"]


def test_gaps_in_row_numbers_and_blank_added_rows_are_ignored(client, db):
    """Rows removed by the script leave gaps; a row added and left empty is not an error."""
    data = form(**{"stops-0-country": None, "stops-0-arrival": None, "stops-0-departure": None,
                   "stops-0-place": None, "stops-0-lat": None, "stops-0-lon": None})
    data.update({"stops-2-country": "IT", "stops-2-arrival": "2030-06-01",
                 "stops-5-country": "", "stops-5-place": "", "stops-5-arrival": ""})
    response = client.post("/register", data=data)
    assert response.status_code == 302
    assert only_stop(db).country == "IT"


def test_registration_is_audited_without_personal_data(client, db):
    post(client)
    db.expire_all()
    traveller = db.scalars(select(Traveller)).one()
    entry = db.scalars(select(AuditEntry)).one()
    assert entry.action == "traveller.registered"
    assert (entry.object_type, entry.object_id) == ("traveller", str(traveller.id))
    assert entry.actor == f"traveller:{traveller.id}"
    written = " ".join(str(v) for v in (entry.actor, entry.action, entry.object_type,
                                         entry.object_id, entry.details))
    for personal in ("Ada", "Lovelace", "ada@example.com", "33612345678"):
        assert personal not in written


def test_phone_alone_is_enough_to_register(client, db):
    assert post(client, email="").status_code == 302
    db.expire_all()
    assert db.scalars(select(Traveller)).one().email is None


# --- refused input: 400, the message next to its field, nothing saved ----------------------

BAD_INPUTS = [
    pytest.param({"phone": "06 12 34 56 78"}, "phone",
                 "Write the number in international format, starting with + and the country "
                 "code, like +1 613 555 0199.", {}, id="phone-without-country-code"),
    pytest.param({"phone": "+33 12"}, "phone", "%(value)s is not a valid phone number.",
                 {"value": "+33 12"}, id="phone-too-short"),
    pytest.param({"phone": "+33 1 42 68 53 00"}, "phone",
                 "%(value)s cannot receive text messages; give a mobile number.",
                 {"value": "+33 1 42 68 53 00"}, id="phone-is-a-landline"),
    pytest.param({"email": "ada@"}, "email",
                 "%(value)s is not a valid email address, like name@example.com.",
                 {"value": "ada@"}, id="bad-email"),
    pytest.param({"email": "", "phone": ""}, "email",
                 "Give an email address or a mobile number so we can reach you.", {},
                 id="no-way-to-reach"),
    pytest.param({"stops-0-country": "XX"}, "stops-0-country", "Unknown country code %(code)s.",
                 {"code": "XX"}, id="unknown-country"),
    pytest.param({"stops-0-country": ""}, "stops-0-country", "Choose a country.", {},
                 id="no-country"),
    pytest.param({"stops-0-departure": "2030-04-30"}, "stops-0-departure",
                 "The departure date is before the arrival date.", {},
                 id="departure-before-arrival"),
    pytest.param({"stops-0-arrival": ""}, "stops-0-arrival", "Enter a date.", {},
                 id="no-arrival"),
    pytest.param({"stops-0-arrival": "01/05/2030"}, "stops-0-arrival",
                 "%(value)s is not a date; use the form YYYY-MM-DD.", {"value": "01/05/2030"},
                 id="arrival-not-iso"),
    pytest.param({"stops-0-place": "Atlantis"}, "stops-0-place",
                 "We could not find %(place)s in %(country)s.",
                 {"place": "Atlantis", "country": "France"}, id="unknown-city"),
    pytest.param({"stops-0-lat": "95", "stops-0-lon": "2"}, "stops-0-lat",
                 "Must be between -%(limit)s and %(limit)s.", {"limit": 90},
                 id="latitude-out-of-range"),
    pytest.param({"stops-0-lat": "48.8", "stops-0-lon": ""}, "stops-0-lon",
                 "Give both latitude and longitude, or neither.", {}, id="half-a-point"),
    pytest.param({"consent": None}, "consent",
                 "Tick the box to agree that we may contact you in an emergency; we cannot "
                 "register you without it.", {}, id="no-consent"),
    pytest.param({"given_name": "  "}, "given_name", "This field is required.", {},
                 id="no-given-name"),
    pytest.param({"family_name": ""}, "family_name", "This field is required.", {},
                 id="no-family-name"),
    pytest.param({"given_name": "A" * 101}, "given_name", "At most %(max)d characters.",
                 {"max": 100}, id="given-name-too-long"),
    pytest.param({"language": "de"}, "language", "Choose English (en) or French (fr).", {},
                 id="unsupported-language"),
]


@pytest.mark.parametrize("changes, field, message, params", BAD_INPUTS)
def test_bad_input_is_refused_in_english_next_to_its_field_and_nothing_is_saved(
        client, db, changes, field, message, params):
    response = client.post("/register?lang=en", data=form(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert in_english(message, **params) in field_errors(html, field)
    assert counts(db) == (0, 0, 0, 0)


@pytest.mark.parametrize("changes, field, message, params", BAD_INPUTS)
def test_bad_input_is_refused_in_french_on_the_french_page(app, client, db, changes, field,
                                                            message, params):
    response = client.post("/register?lang=fr", data=form(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert in_french(app, message, **params) in field_errors(html, field)
    assert counts(db) == (0, 0, 0, 0)


def test_unknown_city_names_the_country_in_the_page_language_and_offers_suggestions(app, client, db):
    response = post(client, lang="fr", stops__0__country="DE", stops__0__place="Berlinn")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert in_french(app, "We could not find %(place)s in %(country)s.",
                     place="Berlinn", country="Allemagne") in field_errors(html, "stops-0-place")
    assert '<option value="Berlin">' in html


def test_every_error_is_shown_at_once(client, db):
    response = post(client, given_name="", email="nope", stops__0__country="XX", consent=None)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in ("given_name", "email", "stops-0-country", "consent"):
        assert field_errors(html, field), field
    assert counts(db) == (0, 0, 0, 0)


def test_error_on_the_second_destination_is_shown_on_the_second_row(client, db):
    response = post(client, **{"stops-1-country": "DE", "stops-1-arrival": "2030-05-20",
                               "stops-1-departure": "2030-05-11"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_errors(html, "stops-1-departure") == [
        in_english("The departure date is before the arrival date.")]
    assert field_errors(html, "stops-0-departure") == []
    assert counts(db) == (0, 0, 0, 0)


def test_refused_form_keeps_what_was_typed(client):
    html = post(client, email="ada@", stops__0__place="Atlantis").get_data(as_text=True)
    assert 'value="Ada"' in html and 'value="Lovelace"' in html
    assert 'value="ada@"' in html and 'value="Atlantis"' in html
    assert '<option value="FR" selected>' in html
    assert 'name="consent" value="1" required checked' in html


def test_typed_text_is_escaped_when_the_form_comes_back(client):
    html = post(client, given_name='"><script>alert(1)</script>', email="bad").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html


# --- city suggestions ----------------------------------------------------------------------

def test_suggest_returns_places_in_the_country_starting_with_the_prefix(client):
    response = client.get("/places/suggest?country=FR&q=Par")
    assert response.status_code == 200
    places = response.get_json()
    assert places[0]["name"] == "Paris"
    assert places[0]["lat"] == pytest.approx(48.85, abs=0.1)
    assert places[0]["lon"] == pytest.approx(2.35, abs=0.1)
    assert all(p["name"].lower().startswith("par") for p in places)
    assert set(places[0]) == {"name", "lat", "lon"}


def test_suggest_ignores_accents_and_stays_in_the_country(client):
    names = [p["name"] for p in client.get("/places/suggest?country=CA&q=montre").get_json()]
    assert "Montréal" in names
    assert "Montreuil" not in names  # a Paris suburb: France, not Canada


def test_suggest_honours_the_limit_and_caps_it(client):
    assert len(client.get("/places/suggest?country=FR&q=Sa&limit=3").get_json()) == 3
    assert len(client.get("/places/suggest?country=US&q=S&limit=500").get_json()) == 20


def test_suggest_with_an_empty_prefix_suggests_nothing(client):
    response = client.get("/places/suggest?country=FR&q=")
    assert response.status_code == 200
    assert response.get_json() == []


@pytest.mark.parametrize("query", ["country=XX&q=Par", "q=Par", "country=FRA&q=Par"])
def test_suggest_refuses_an_unknown_country(client, query):
    response = client.get(f"/places/suggest?{query}")
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_suggest_refuses_an_absurdly_long_prefix(client):
    assert client.get("/places/suggest?country=FR&q=" + "a" * 500).status_code == 400
