"""Every /api/v1 answer that is an error has one shape, `{"error": code, "message": text}`
(plus `fields` where a field is to blame), in every API blueprint, for refused tokens, and
for URLs or methods no route takes; other paths keep their HTML pages."""
from __future__ import annotations

import pytest

from tests.conftest import api_headers

SHAPE = {"error", "message"}


def assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) - {"fields"} == SHAPE
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


# One route of each API blueprint: api, travellers_api, advisories_api, partner_api.
GUARDED = [
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/travellers?q=lee"),
    ("get", "/api/v1/advisories"),
    ("get", "/api/v1/partners/me/travellers"),
]


@pytest.mark.parametrize("method,path", GUARDED)
def test_no_token_is_a_401_in_the_api_shape_with_a_bearer_challenge(client, method, path):
    response = getattr(client, method)(path)
    assert_api_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method,path", GUARDED)
def test_an_unknown_token_is_a_401_in_the_api_shape(client, method, path):
    response = getattr(client, method)(path, headers={"Authorization": "Bearer ert_not-a-token"})
    assert_api_error(response, 401, "unauthorized")


@pytest.mark.parametrize("method,path", [
    ("post", "/api/v1/incidents"),          # api: coordinator
    ("get", "/api/v1/travellers?q=lee"),    # travellers_api: coordinator
    ("put", "/api/v1/advisories/FR"),       # advisories_api: coordinator
])
def test_a_role_too_low_is_a_403_in_the_api_shape(client, app, method, path):
    response = getattr(client, method)(path, headers=api_headers(app, "viewer@example.org"), json={})
    assert_api_error(response, 403, "forbidden")


def test_a_staff_token_on_the_partners_api_is_a_403_in_the_api_shape(client, app):
    assert_api_error(client.get("/api/v1/partners/me/travellers", headers=api_headers(app)), 403, "forbidden")


def test_the_refusal_is_in_french_when_asked(client):
    body = assert_api_error(client.get("/api/v1/incidents", headers={"Accept-Language": "fr"}), 401, "unauthorized")
    assert "jeton" in body["message"]


@pytest.mark.parametrize("path", [
    "/api/v1/incidents/999999",         # api
    "/api/v1/travellers/999999",        # api (traveller by id)
    "/api/v1/advisories/ZZ",            # advisories_api
])
def test_a_missing_record_is_a_404_in_the_api_shape(client, app, path):
    assert_api_error(client.get(path, headers=api_headers(app)), 404, "not_found")


def partner_headers(app) -> dict:
    from emergency.core.auth import create_user, issue_api_token
    from emergency.core.database import db_session
    from registry.partners import create_partner

    with app.app_context():
        user = create_user("api@acme.example", "Acme API", "partner")
        user.partner_id = create_partner(db_session(), "Acme Tours").id
        token = issue_api_token(user)
        db_session().commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_partners_missing_record_is_a_404_in_the_api_shape(client, app):
    headers = partner_headers(app)
    assert_api_error(client.get("/api/v1/partners/me/travellers/nobody", headers=headers), 404, "not_found")


def test_a_bad_search_is_a_400_in_the_api_shape(client, app):
    assert_api_error(client.get("/api/v1/travellers?q=", headers=api_headers(app)), 400, "invalid_query")


def test_invalid_fields_are_named_in_the_api_shape(client, app):
    response = client.put("/api/v1/advisories/FR", headers=api_headers(app), json={"level": 9})
    body = assert_api_error(response, 422, "invalid")
    assert "level" in body["fields"]


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/incidents/1/nothing", "/api/v1", "/api/v1/"])
def test_an_unknown_url_under_the_api_is_a_404_in_the_api_shape(client, app, path):
    assert_api_error(client.get(path, headers=api_headers(app)), 404, "not_found")


def test_an_unknown_url_under_the_api_answers_in_french_when_asked(client):
    body = assert_api_error(client.get("/api/v1/nothing", headers={"Accept-Language": "fr"}), 404, "not_found")
    assert body["message"] != "Not found."


@pytest.mark.parametrize("method,path", [
    ("delete", "/api/v1/incidents"),                 # api
    ("post", "/api/v1/alerts/1"),                    # api
    ("patch", "/api/v1/advisories"),                 # advisories_api
    ("put", "/api/v1/partners/me/travellers"),       # partner_api
])
def test_a_method_no_route_takes_is_a_405_in_the_api_shape_with_allow(client, app, method, path):
    response = getattr(client, method)(path, headers=api_headers(app))
    assert_api_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_an_unexpected_failure_in_a_view_is_a_500_in_the_api_shape(client, app, monkeypatch):
    from emergency.services import incidents

    def broken():
        raise RuntimeError("database went away")

    monkeypatch.setattr(incidents, "list_incidents", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    body = assert_api_error(client.get("/api/v1/incidents", headers=api_headers(app)), 500, "internal_error")
    assert "database" not in body["message"]


@pytest.mark.parametrize("method,path", [("get", "/no-such-page"), ("get", "/api/v10/x"), ("get", "/webhooks/twilio/sms")])
def test_errors_outside_the_api_keep_their_pages(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code in (404, 405)
    assert response.mimetype == "text/html"


def test_every_http_error_message_of_the_api_exists_in_french(app):
    from flask_babel import force_locale

    from emergency.web.api.errors import HTTP_ERRORS

    with app.test_request_context():
        english = {status: str(message) for status, (_code, message) in HTTP_ERRORS.items()}
        with force_locale("fr"):
            french = {status: str(message) for status, (_code, message) in HTTP_ERRORS.items()}
    assert [status for status in HTTP_ERRORS if french[status] == english[status]] == []
