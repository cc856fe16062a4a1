"""Abuse-proof public pages: rate limits on registration, sign-in links and check-ins
(per IP address, and per email address for sign-in links), a bilingual 429 page, and CSRF
on every public form."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_ENABLED": True}


def ip(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


BAD_REGISTRATION = {"given_name": "", "family_name": "", "consent": ""}


def test_registration_is_limited_to_ten_posts_an_hour_per_ip(client):
    for _ in range(10):
        assert client.post("/register", data=BAD_REGISTRATION, **ip("10.0.0.1")).status_code == 400
    blocked = client.post("/register", data=BAD_REGISTRATION, **ip("10.0.0.1"))
    assert blocked.status_code == 429
    assert client.post("/register", data=BAD_REGISTRATION, **ip("10.0.0.2")).status_code == 400
    assert client.get("/register", **ip("10.0.0.1")).status_code == 200  # reading is never limited


def test_the_429_page_is_in_both_languages(client):
    for _ in range(11):
        response = client.post("/register?lang=fr", data=BAD_REGISTRATION, **ip("10.0.0.3"))
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert page.index("Trop de tentatives") < page.index("Too many attempts")


def test_sign_in_requests_are_limited_to_five_an_hour_per_ip(client):
    for n in range(5):
        assert client.post("/my", data={"email": f"p{n}@example.org"}, **ip("10.0.1.1")).status_code == 200
    assert client.post("/my", data={"email": "p9@example.org"}, **ip("10.0.1.1")).status_code == 429
    assert client.post("/my", data={"email": "p9@example.org"}, **ip("10.0.1.2")).status_code == 200


def test_sign_in_requests_are_limited_to_three_an_hour_per_email_from_any_ip(client):
    for n, spelling in enumerate(("ann@example.org", "ANN@example.org", " ann@Example.org ")):
        assert client.post("/my", data={"email": spelling}, **ip(f"10.0.2.{n}")).status_code == 200
    assert client.post("/my", data={"email": "ann@example.org"}, **ip("10.0.2.9")).status_code == 429
    assert client.post("/my", data={"email": "bob@example.org"}, **ip("10.0.2.9")).status_code == 200


def test_the_per_email_limit_does_not_reveal_whether_an_address_is_registered(client, app):
    from emergency.core.database import db_session
    from registry.service import StopInput, TravellerInput, register_traveller

    with app.app_context():
        register_traveller(db_session(), TravellerInput(
            given_name="Ann", family_name="Lee", email="ann@example.org",
            stops=[StopInput(country="FR", arrival="2030-01-01")]))
        db_session().commit()
    statuses = {}
    for email in ("ann@example.org", "nobody@example.org"):
        statuses[email] = [client.post("/my", data={"email": email}, **ip(f"10.0.3.{n}")).status_code
                           for n in range(4)]
    assert statuses["ann@example.org"] == statuses["nobody@example.org"] == [200, 200, 200, 429]


def test_checkins_are_limited_to_ten_an_hour_per_ip(client, app):
    from emergency.core.database import db_session
    from emergency.services.incidents import create_incident
    from geo.zones import circle

    with app.test_request_context():
        incident = create_incident("Quake", circle(35.68, 139.69, 30), datetime.now(timezone.utc) - timedelta(hours=1), None)
        db_session().commit()
        url = f"/incidents/{incident.id}/checkin"
    for _ in range(10):
        assert client.post(url, data={}, **ip("10.0.4.1")).status_code == 400
    assert client.post(url, data={}, **ip("10.0.4.1")).status_code == 429
    assert client.post(url, data={}, **ip("10.0.4.2")).status_code == 400


def test_check_in_codes_are_limited_to_twenty_tries_an_hour_per_ip(client, app):
    from emergency.services.checkin_codes import report_token

    with app.app_context():
        url = f"/checkin/{report_token(12345)}"  # no such report: the limit counts before the lookup
    for _ in range(20):
        assert client.post(url, data={"code": "123456"}, **ip("10.0.5.1")).status_code == 404
    assert client.post(url, data={"code": "123456"}, **ip("10.0.5.1")).status_code == 429
    assert client.post(url, data={"code": "123456"}, **ip("10.0.5.2")).status_code == 404


def test_limits_can_be_switched_off_by_configuration(make_app):
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    assert all(client.post("/my", data={"email": "a@example.org"}).status_code == 200 for _ in range(8))


# --- CSRF -------------------------------------------------------------------------------

@pytest.fixture
def csrf_client(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False)
    return app, app.test_client()


def token_from(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def test_public_forms_refuse_a_post_without_its_csrf_token(csrf_client):
    app, client = csrf_client
    from emergency.core.database import db_session
    from emergency.services.incidents import create_incident
    from geo.zones import circle

    with app.test_request_context():
        incident = create_incident("Quake", circle(35.68, 139.69, 30), datetime.now(timezone.utc), None)
        db_session().commit()
        checkin = f"/incidents/{incident.id}/checkin"
    for url in ("/my", "/register", checkin, "/my/signin/anything", "/my/delete", "/my/contacts"):
        assert client.post(url, data={"email": "a@example.org"}).status_code == 400, url
    page = client.get("/my").data
    assert client.post("/my", data={"email": "a@example.org", "csrf_token": token_from(page)}).status_code == 200
    assert token_from(client.get(checkin).data)


def test_the_demo_relaxes_the_limits_it_says_it_relaxes(app, client):
    app.config["RATELIMIT_DEMO_FACTOR"] = 2
    for _ in range(20):
        assert client.post("/register", data=BAD_REGISTRATION, **ip("10.0.0.9")).status_code == 400
    assert client.post("/register", data=BAD_REGISTRATION, **ip("10.0.0.9")).status_code == 429
