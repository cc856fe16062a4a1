"""Self-service without passwords: a traveller asks for a sign-in link by email, opens it
once, and then manages their own registration; nobody learns from the public pages whether
an address is registered."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from emergency.core.models import AuditEntry, SigninToken
from notify.models import OutboxMessage
from registry.models import Companion, Stop, Traveller, Trip
from registry.service import StopInput, TravellerInput, register_traveller

LINK = re.compile(r"https://consular\.test(/my/signin/[A-Za-z0-9_.\-]+)")


def add_traveller(app, email="ann@example.org", phone=None, language="en", **extra) -> int:
    from emergency.core.database import db_session

    today = date.today()
    with app.app_context():
        session = db_session()
        t = register_traveller(session, TravellerInput(
            given_name="Ann", family_name="Lee", email=email, phone=phone, language=language,
            stops=[StopInput(country="FR", place="Paris", arrival=today - timedelta(days=2),
                             departure=today + timedelta(days=5)),
                   StopInput(country="IT", arrival=today + timedelta(days=6),
                             departure=today + timedelta(days=9))], **extra))
        session.commit()
        return t.id


def outbox(app, to: str | None = None) -> list[OutboxMessage]:
    from emergency.core.database import db_session

    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if to:
            query = query.where(OutboxMessage.to == to)
        return list(db_session().scalars(query))


def latest_link(app, to="ann@example.org") -> str:
    messages = [m for m in outbox(app, to) if LINK.search(m.body)]
    assert messages, "no sign-in link was sent"
    return LINK.search(messages[-1].body).group(1)


def sign_in(client, app, email="ann@example.org"):
    client.post("/my", data={"email": email})
    response = client.post(latest_link(app, email))
    assert response.status_code == 302 and response.headers["Location"].startswith("/my/trips")
    return client


def audit_actions(app) -> list[AuditEntry]:
    from emergency.core.database import db_session

    with app.app_context():
        return list(db_session().scalars(select(AuditEntry).order_by(AuditEntry.id)))


# --- asking for a link ------------------------------------------------------------------

def test_registered_and_unknown_addresses_get_the_same_answer_and_status(client, app):
    add_traveller(app)
    known = client.post("/my", data={"email": "ann@example.org"})
    unknown = client.post("/my", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert b"If this address is registered, we have sent a link" in known.get_data()
    assert [m.to for m in outbox(app)] == ["ann@example.org"]


def test_the_link_goes_only_to_the_registered_address_whatever_case_was_typed(client, app):
    add_traveller(app)
    client.post("/my", data={"email": "  ANN@example.ORG "})
    (message,) = outbox(app)
    assert message.to == "ann@example.org" and LINK.search(message.body)
    assert "expires in 60 minutes" in message.body


def test_a_sign_in_link_email_is_in_the_travellers_language_with_the_other_below(client, app):
    add_traveller(app, language="fr")
    client.post("/my", data={"email": "ann@example.org"})
    (message,) = outbox(app)
    french = message.body.index("Votre lien de connexion")
    english = message.body.index("Your sign-in link")
    assert french < english
    assert message.subject.startswith("Votre lien de connexion / Your sign-in link")


def test_an_unreadable_or_missing_email_is_a_field_error(client, app):
    for value in ("", "not-an-email"):
        response = client.post("/my", data={"email": value})
        assert response.status_code == 400
        assert b'class="field-error"' in response.data
    assert outbox(app) == []


def test_the_request_form_has_a_csrf_token(client):
    assert b'name="csrf_token"' in client.get("/my").data


# --- using the link ---------------------------------------------------------------------

def test_opening_the_link_asks_to_continue_and_only_the_button_signs_in(client, app):
    add_traveller(app)
    client.post("/my", data={"email": "ann@example.org"})
    link = latest_link(app)
    page = client.get(link)
    assert page.status_code == 200 and b"Continue to my registration" in page.data
    assert client.get("/my/trips").status_code == 302  # a mail scanner's GET signs nobody in
    assert client.post(link).status_code == 302
    assert client.get("/my/trips").status_code == 200


def test_a_link_works_once(client, app):
    add_traveller(app)
    client.post("/my", data={"email": "ann@example.org"})
    link = latest_link(app)
    assert client.post(link).status_code == 302
    other = app.test_client()
    again = other.post(link)
    assert again.status_code == 410
    assert b"This link was already used. Ask for a new one." in again.data
    assert other.get(link).status_code == 410
    assert other.get("/my/trips").status_code == 302


def test_an_expired_link_is_refused(app_expiring, client_expiring):
    app, client = app_expiring, client_expiring
    add_traveller(app)
    client.post("/my", data={"email": "ann@example.org"})
    link = latest_link(app)
    response = client.post(link)
    assert response.status_code == 410 and b"This link has expired" in response.data
    assert client.get("/my/trips").status_code == 302


@pytest.fixture
def app_expiring(make_app):
    return make_app(SIGNIN_LINK_MAX_AGE=-1)


@pytest.fixture
def client_expiring(app_expiring):
    return app_expiring.test_client()


def test_a_tampered_link_is_refused(client, app):
    add_traveller(app)
    client.post("/my", data={"email": "ann@example.org"})
    link = latest_link(app)
    payload, stamp, sig = link.rsplit("/", 1)[1].split(".")
    forged = link.rsplit("/", 1)[0] + "/" + ".".join((payload, stamp, sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")))
    for bad in (forged, "/my/signin/garbage", link + "x"):
        response = client.post(bad)
        assert response.status_code == 400, bad
        assert b"This link is not valid" in response.data
    assert client.get("/my/trips").status_code == 302


def test_a_link_signed_for_a_safety_check_cannot_sign_in(client, app):
    from emergency.services.safety_links import make_token

    traveller_id = add_traveller(app)
    with app.app_context():
        token = make_token(1, traveller_id)
    assert client.post(f"/my/signin/{token}").status_code == 400


def test_a_link_dies_with_its_traveller(client, app):
    traveller_id = add_traveller(app)
    client.post("/my", data={"email": "ann@example.org"})
    link = latest_link(app)
    from emergency.core.database import db_session

    with app.app_context():
        db_session().delete(db_session().get(Traveller, traveller_id))
        db_session().commit()
        assert db_session().scalar(select(func.count()).select_from(SigninToken)) == 0
    assert client.post(link).status_code == 400


# --- the traveller's own page -----------------------------------------------------------

def test_the_trips_page_needs_a_signed_in_traveller(client):
    for method, url in (("get", "/my/trips"), ("post", "/my/back-home"), ("post", "/my/contacts"),
                        ("post", "/my/trips"), ("get", "/my/delete"), ("post", "/my/delete"),
                        ("post", "/my/trips/1/cancel")):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/my"), url


def test_the_page_shows_only_the_travellers_own_trips(client, app):
    add_traveller(app)
    from emergency.core.database import db_session

    with app.app_context():
        other = register_traveller(db_session(), TravellerInput(
            given_name="Zed", family_name="Other", email="zed@example.org",
            stops=[StopInput(country="JP", arrival="2030-01-01")]))
        db_session().commit()
        other_trip = other.trips[0].id
    sign_in(client, app)
    page = client.get("/my/trips").get_data(as_text=True)
    trips = page[page.index('id="your-trips"'):page.index("</section>", page.index('id="your-trips"'))]
    assert "Ann Lee" in page and "Zed" not in page
    assert "France" in trips and "Japan" not in trips
    assert client.post(f"/my/trips/{other_trip}/cancel").status_code == 404


def latest_code(app, to: str) -> str:
    messages = [m for m in outbox(app, to) if re.search(r"\b\d{6}\b", m.body)]
    assert messages, f"no code was sent to {to}"
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)


def test_contacts_are_updated_once_each_new_number_is_proven_confirmed_by_email_and_audited(client, app):
    traveller_id = add_traveller(app)
    sign_in(client, app)
    response = client.post("/my/contacts", data={"email": "ann@example.org", "phone": "0033 6 12 34 56 78",
                                                 "phone2": "+1 613 555 0199", "language": "fr"})
    assert response.status_code == 302 and response.headers["Location"] == "/my/contacts/confirm"
    from emergency.core.database import db_session

    with app.app_context():
        t = db_session().get(Traveller, traveller_id)
        assert (t.phone, t.phone2, t.language) == (None, None, "fr")  # the language needs no proof
    for field, number in (("phone", "+33612345678"), ("phone2", "+16135550199")):
        assert client.post(f"/my/contacts/confirm/{field}", data={"code": latest_code(app, number)}).status_code == 302
    with app.app_context():
        t = db_session().get(Traveller, traveller_id)
        assert (t.phone, t.phone2, t.language) == ("+33612345678", "+16135550199", "fr")
    assert any("Vos coordonnées ont été modifiées." in m.body or "Your contact details were changed." in m.body
               for m in outbox(app, "ann@example.org"))
    entries = [a for a in audit_actions(app) if a.action == "traveller.updated"]
    assert [e.details for e in entries] == [{"change": "contacts_pending", "fields": ["phone", "phone2"]},
                                            {"change": "phone_verified"}, {"change": "phone2_verified"}]
    assert all("ann" not in repr(e.details).lower() and "+33" not in repr(e.details) for e in entries)


def test_removing_a_number_and_changing_the_language_need_no_code(client, app):
    traveller_id = add_traveller(app, phone="+1 613 555 0199")
    sign_in(client, app)
    response = client.post("/my/contacts", data={"email": "ann@example.org", "phone": "", "language": "fr"})
    assert response.status_code == 302 and response.headers["Location"] == "/my/trips"
    from emergency.core.database import db_session

    with app.app_context():
        t = db_session().get(Traveller, traveller_id)
        assert (t.phone, t.language) == (None, "fr")
    entry = [a for a in audit_actions(app) if a.action == "traveller.updated"][-1]
    assert entry.details == {"change": "contacts"}


def test_bad_contacts_are_refused_next_to_their_field_and_change_nothing(client, app):
    traveller_id = add_traveller(app, phone="+1 613 555 0199")
    sign_in(client, app)
    response = client.post("/my/contacts", data={"email": "", "phone": "12345", "phone2": "", "language": "en"})
    assert response.status_code == 400 and b'id="phone-error"' in response.data
    from emergency.core.database import db_session

    with app.app_context():
        t = db_session().get(Traveller, traveller_id)
        assert (t.email, t.phone) == ("ann@example.org", "+16135550199")


def test_a_trip_can_be_added_with_the_same_stop_form(client, app):
    traveller_id = add_traveller(app)
    sign_in(client, app)
    response = client.post("/my/trips", data={
        "purpose": "study", "stops-0-country": "MX", "stops-0-place": "Mexico",
        "stops-0-address": "Residencia UNAM", "stops-0-arrival": "2031-01-10", "stops-0-departure": ""})
    assert response.status_code == 302
    from emergency.core.database import db_session

    with app.app_context():
        trips = db_session().scalars(select(Trip).where(Trip.traveller_id == traveller_id).order_by(Trip.id)).all()
        new = trips[-1]
        assert new.purpose == "study"
        assert [(s.country, s.place, s.address, s.precision) for s in new.stops] == [
            ("MX", "Mexico City", "Residencia UNAM", "city")]


def test_an_unknown_place_in_a_new_trip_is_an_error_with_suggestions(client, app):
    add_traveller(app)
    sign_in(client, app)
    response = client.post("/my/trips", data={"stops-0-country": "CA", "stops-0-place": "Montrexx",
                                              "stops-0-arrival": "2031-01-10"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="stops-0-place-error"' in page and "Montr" in page


def test_a_trip_can_be_cancelled(client, app):
    traveller_id = add_traveller(app)
    sign_in(client, app)
    from emergency.core.database import db_session

    with app.app_context():
        trip_id = db_session().scalar(select(Trip.id).where(Trip.traveller_id == traveller_id))
    assert client.post(f"/my/trips/{trip_id}/cancel").status_code == 302
    with app.app_context():
        assert db_session().scalar(select(func.count()).select_from(Stop)) == 0


def test_back_home_ends_the_current_trip_today(client, app):
    traveller_id = add_traveller(app)
    sign_in(client, app)
    assert client.post("/my/back-home").status_code == 302
    from emergency.core.database import db_session

    with app.app_context():
        stops = db_session().scalars(select(Stop).where(Stop.traveller_id == traveller_id)).all()
        assert [(s.country, s.departure) for s in stops] == [("FR", date.today())]
    assert "back home" in outbox(app)[-1].body


def test_delete_needs_confirmation_then_removes_everything_and_leaves_an_anonymous_audit_entry(client, app):
    from registry.household import CompanionInput

    traveller_id = add_traveller(app, companions=[CompanionInput(given_name="Kid", family_name="Lee", age_band="0-4")])
    sign_in(client, app)
    assert client.get("/my/delete").status_code == 200
    assert client.post("/my/delete", data={}).status_code == 400
    from emergency.core.database import db_session

    with app.app_context():
        assert db_session().get(Traveller, traveller_id) is not None
    response = client.post("/my/delete", data={"confirm": "yes"})
    assert response.status_code == 200 and b"Your registration is deleted" in response.data
    with app.app_context():
        session = db_session()
        for model in (Traveller, Trip, Stop, Companion, SigninToken):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
    (entry,) = [a for a in audit_actions(app) if a.action == "traveller.deleted"]
    assert entry.object_id == str(traveller_id) and not entry.details
    assert client.get("/my/trips").status_code == 302


# --- registration emails ----------------------------------------------------------------

REGISTRATION = {
    "given_name": "Ann", "family_name": "Lee", "email": "ann@example.org", "phone": "",
    "language": "fr", "consent": "1", "stops-0-country": "FR", "stops-0-arrival": "2030-05-01",
}


def test_registering_sends_a_confirmation_in_both_languages(client, app):
    assert client.post("/register", data=REGISTRATION).status_code == 302
    (message,) = outbox(app)
    assert message.to == "ann@example.org"
    assert message.body.index("France") > 0
    assert message.body.index("Merci, Ann") < message.body.index("Thank you, Ann")


def test_the_confirmation_shows_the_advisory_of_each_destination(client, app):
    from emergency.core.database import db_session
    from emergency.core.models import Advisory

    with app.app_context():
        db_session().add(Advisory(country="FR", level=1, text_en="Strikes in Paris.",
                                  text_fr="Grèves à Paris.", updated_on=date(2030, 1, 1)))
        db_session().commit()
    client.post("/register", data=REGISTRATION)
    (message,) = outbox(app)
    assert "Grèves à Paris." in message.body and "Strikes in Paris." in message.body


def test_registering_again_with_a_known_address_looks_the_same_and_mails_its_owner(client, app):
    add_traveller(app)
    first = client.post("/register", data={**REGISTRATION, "email": "new@example.org"})
    again = client.post("/register", data=REGISTRATION)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    from emergency.core.database import db_session

    with app.app_context():
        assert db_session().scalar(select(func.count()).select_from(Traveller)
                                   .where(Traveller.email == "ann@example.org")) == 1
    (notice,) = outbox(app, "ann@example.org")
    assert "already registered" in notice.body and LINK.search(notice.body)
    assert client.post(LINK.search(notice.body).group(1)).status_code == 302


def test_registration_form_has_optional_collapsed_sections_and_a_csrf_token(client):
    page = client.get("/register").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    for section in ('id="companions"', 'id="contacts"', 'id="more-details"'):
        tag = page[page.index(section) - 40: page.index(section) + 40]
        assert "<details" in tag and " open" not in tag
    assert 'name="stops-0-address"' in page and 'name="companions-0-age_band"' in page


def test_registration_page_keeps_companions_and_contacts_and_names_their_errors(client, app):
    data = {**REGISTRATION, "companions-0-given_name": "Kid", "companions-0-family_name": "Lee",
            "companions-0-age_band": "0-4", "companions-0-phone": "555",
            "contacts-0-name": "Mum", "contacts-0-language": "en"}
    response = client.post("/register?lang=en", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="companions-0-phone-error"' in page and 'id="contacts-0-phone-error"' in page
    assert 'value="Kid"' in page and 'value="Mum"' in page
    assert outbox(app) == []


def test_registration_page_saves_companions_contacts_purpose_and_address(client, app):
    data = {**REGISTRATION, "purpose": "volunteer", "date_of_birth": "1990-05-06", "phone2": "+33 6 12 34 56 78",
            "stops-0-address": "Gîte du lac",
            **{f"companions-{i}-{k}": v for i in range(2) for k, v in
               (("given_name", f"Kid{i}"), ("family_name", "Lee"), ("age_band", "5-11"))},
            "companions-1-non_citizen": "1",
            "companions-2-given_name": "", "companions-2-age_band": "",  # a blank row the script added
            "contacts-0-name": "Mum", "contacts-0-email": "mum@example.org", "contacts-0-language": "fr"}
    assert client.post("/register", data=data).status_code == 302
    from emergency.core.database import db_session

    with app.app_context():
        t = db_session().scalar(select(Traveller))
        assert [(c.given_name, c.non_citizen) for c in t.companions] == [("Kid0", False), ("Kid1", True)]
        assert [(c.name, c.email, c.language) for c in t.emergency_contacts] == [("Mum", "mum@example.org", "fr")]
        assert (t.date_of_birth, t.phone2, t.trips[0].purpose, t.trips[0].stops[0].address) == (
            date(1990, 5, 6), "+33612345678", "volunteer", "Gîte du lac")
        assert t.consent_version


def test_registration_page_refuses_eleven_companions(client, app):
    data = dict(REGISTRATION)
    for i in range(11):
        data.update({f"companions-{i}-given_name": f"K{i}", f"companions-{i}-family_name": "L",
                     f"companions-{i}-age_band": "5-11"})
    response = client.post("/register?lang=en", data=data)
    assert response.status_code == 400 and b'id="companions-error"' in response.data


# --- the API takes the same fields ------------------------------------------------------

def test_api_registers_companions_contacts_and_extras(client, app):
    from tests.conftest import api_headers

    body = {"given_name": "Ann", "family_name": "Lee", "email": "ann@example.org", "language": "en",
            "purpose": "business", "phone2": "+1 613 555 0199", "date_of_birth": "1970-01-01",
            "stops": [{"country": "FR", "arrival": "2030-01-01", "address": "Hôtel X"}],
            "companions": [{"given_name": "Kid", "family_name": "Lee", "age_band": "0-4", "non_citizen": True}],
            "emergency_contacts": [{"name": "Mum", "phone": "+33 6 12 34 56 78"}]}
    response = client.post("/api/v1/travellers", json=body, headers=api_headers(app))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["companions"][0]["non_citizen"] is True and data["emergency_contacts"][0]["phone"] == "+33612345678"
    assert data["trips"][0]["purpose"] == "business" and data["trips"][0]["stops"][0]["address"] == "Hôtel X"
    bad = client.post("/api/v1/travellers", headers=api_headers(app), json={
        **body, "email": "other@example.org", "companions": [body["companions"][0]] * 11,
        "emergency_contacts": [{"name": "Nobody"}]})
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) >= {"companions", "contacts-0-phone"}
