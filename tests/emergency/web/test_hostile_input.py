"""No 500 from any input: JSON nested 100 000 levels deep on every route that takes a body,
ids beyond the database's integers, negative or not integers in every path, the same in the
query strings that take numbers, `next=` with control characters, and signed webhooks with
odd ids or fields that are not text. Each gets a 4xx; under /api/v1 and on the webhooks, in
the API's error shape."""
from __future__ import annotations

import json
import re
import time

import pytest
from twilio.request_validator import RequestValidator

from devtools.fake_providers import FakeSendGrid
from tests.conftest import api_headers, login

DEEP_JSON = "[" * 100_000 + "]" * 100_000
ODD_IDS = [str(2**63), str(2**31), "9" * 40, "-1", "1.5", "abc", "²", "%C2%B2", "1e3"]
TWILIO_TOKEN = "twilio-test-auth-token"
BASE = "https://consular.test"


SENDGRID = FakeSendGrid("SG.test", public_base=BASE)  # only signs event batches; never started


@pytest.fixture
def app_overrides():
    return {"TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "SENDGRID_WEBHOOK_PUBLIC_KEY": SENDGRID.public_key}


@pytest.fixture
def admin_client(app, client):
    from emergency.core.auth import create_user
    from emergency.core.database import db_session
    from tests.conftest import _password_hash

    with app.app_context():
        user = create_user("admin@example.org", "Ada Admin", "admin")
        user.password_hash = _password_hash()
        db_session().commit()
    assert login(client, "admin@example.org").status_code == 200
    return client


def admin_token(app) -> dict:
    from emergency.core.auth import issue_api_token
    from emergency.core.database import db_session
    from emergency.core.models import User

    with app.app_context():
        user = db_session().query(User).filter_by(email="admin@example.org").one()
        token = issue_api_token(user)
        db_session().commit()
    return {"Authorization": f"Bearer {token}"}


def concrete(rule, int_value: str = "1") -> str:
    """The rule's URL with every int argument `int_value` and every other argument a word."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
                  lambda m: int_value if m.group(1) == "int" else "FR", rule.rule)


def assert_api_shape(response):
    body = response.get_json(silent=True)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str), \
        response.get_data(as_text=True)[:200]


def body_routes(app):
    return [(rule, method) for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})]


def reads_json(path: str) -> bool:
    """The API, the webhooks and the console's script endpoints read JSON; the console's
    and public pages' other routes read forms and ignore a JSON body."""
    return path.startswith(("/api/v1/", "/webhooks/")) or path.endswith(("/sms-info", "/sms-estimate"))


def test_json_nested_100000_levels_deep_is_a_4xx_on_every_json_route_and_no_500_anywhere(app, admin_client):
    headers = {**admin_token(app), "Content-Type": "application/json"}
    routes = [(rule, method) for rule, method in body_routes(app) if not rule.rule.endswith(("/logout", "/signout"))]
    assert sum(reads_json(rule.rule) for rule, _ in routes) > 20
    for rule, method in routes:
        path = concrete(rule)
        response = admin_client.open(path, method=method, data=DEEP_JSON, headers=headers)
        assert response.status_code < 500, (method, path, response.status_code)
        if reads_json(path):
            assert 400 <= response.status_code < 500, (method, path, response.status_code)
        if path.startswith(("/api/v1/", "/webhooks/")):
            assert_api_shape(response)


def int_routes(app):
    return [(rule, method) for rule in app.url_map.iter_rules() if "<int:" in rule.rule
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


@pytest.mark.parametrize("odd", ODD_IDS)
def test_ids_too_big_negative_or_not_integers_are_404_in_every_path(app, admin_client, odd):
    headers = admin_token(app)
    routes = int_routes(app)
    assert len(routes) > 40
    for rule, method in routes:
        path = concrete(rule, odd)
        response = admin_client.open(path, method=method, headers=headers)
        assert response.status_code == 404, (method, path, response.status_code)
        if path.startswith("/api/v1/"):
            assert_api_shape(response)


@pytest.mark.parametrize("path", ["/api/v1/cases?page={}", "/api/v1/cases?per_page={}", "/api/v1/cases?incident={}",
                                  "/api/v1/cases?assignee={}", "/api/v1/incidents/1/recipients?page={}",
                                  "/api/v1/incidents/1/recipients?per_page={}"])
@pytest.mark.parametrize("odd", [str(2**63), "9" * 40, "²", "1.5", "1_0", "0x1"])
def test_numbers_in_query_strings_that_are_not_small_ascii_integers_are_400(client, app, make_incident, path, odd):
    make_incident("Floods")
    response = client.get(path.format(odd), headers=api_headers(app, "approver@example.org"))
    assert response.status_code == 400
    assert_api_shape(response)


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\nSet-Cookie: x=1", "/%0d%0a", "/\x00", "/ok\x7f",
                                    "/\u0085x"])
def test_a_next_address_with_control_characters_leads_to_the_console_home(client, target):
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD,
                                           "next": target.replace("%0d%0a", "\r\n")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/login?next=" + target.replace("\r\n", "%0D%0A")).status_code == 200


def test_a_plain_next_address_is_still_followed(client):
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD,
                                           "next": "/incidents?status=all"})
    assert response.headers["Location"] == "/incidents?status=all"


def twilio_post(client, path, params):
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(BASE + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


@pytest.mark.parametrize("odd", ["²", "9" * 40, "-1", "1.5", "0x10"])
def test_a_signed_twilio_status_callback_with_an_odd_delivery_id_is_400(client, odd):
    response = twilio_post(client, f"/webhooks/twilio/status?d={odd}",
                           {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"})
    assert response.status_code == 400
    assert_api_shape(response)


@pytest.mark.parametrize("params", [
    {"MessageSid": "SM" + "a" * 300, "MessageStatus": "delivered"},
    {"MessageSid": "SM1²", "MessageStatus": "delivered"},
    {"MessageSid": "SM1", "MessageStatus": "delivered" * 40},
    {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "²"},
])
def test_a_signed_twilio_status_callback_with_odd_fields_is_400(client, params):
    response = twilio_post(client, "/webhooks/twilio/status", params)
    assert response.status_code == 400
    assert_api_shape(response)


@pytest.mark.parametrize("params", [
    {"MessageSid": "SM" + "a" * 300, "From": "+33612345678", "Body": "oui"},
    {"MessageSid": "SM1", "From": "+3" + "3" * 100, "Body": "oui"},
    {"MessageSid": "SM1", "From": "+33612345678", "To": "x" * 100, "Body": "oui"},
])
def test_a_signed_inbound_sms_with_odd_fields_is_400(client, params):
    response = twilio_post(client, "/webhooks/twilio/sms", params)
    assert response.status_code == 400
    assert_api_shape(response)


def sendgrid_post(client, events, timestamp: str | None = None, raw: str | None = None):
    callback = SENDGRID.events_callback(events, timestamp=timestamp)
    if raw is not None:
        ts = callback.headers["X-Twilio-Email-Event-Webhook-Timestamp"]
        callback.headers["X-Twilio-Email-Event-Webhook-Signature"] = SENDGRID.sign(raw, ts)
    return client.post("/webhooks/sendgrid/events", data=raw if raw is not None else callback.body,
                       headers=callback.headers)


@pytest.mark.parametrize("event", [
    {"event": "delivered", "sg_event_id": "e1", "delivery_id": "²"},
    {"event": "delivered", "sg_event_id": "e1", "delivery_id": "9" * 40},
    {"event": "delivered", "sg_event_id": "e1", "delivery_id": "-3"},
    {"event": "delivered", "sg_event_id": 12},
    {"event": "delivered", "sg_event_id": {"a": 1}},
    {"event": ["delivered"], "sg_event_id": "e1"},
    {"event": "bounce", "sg_event_id": "e1", "reason": {"x": 1}},
    {"event": "delivered", "sg_event_id": "e1", "sg_message_id": 7},
    {"event": "delivered", "sg_event_id": "e" * 300},
    "not an object",
])
def test_signed_sendgrid_events_with_odd_ids_or_fields_that_are_not_text_are_400(client, app, event):
    from emergency.core.database import db_session
    from notify.models import ProviderEvent

    good = {"event": "delivered", "sg_event_id": "good-1"}
    response = sendgrid_post(client, [good, event])
    assert response.status_code == 400
    assert_api_shape(response)
    with app.app_context():
        assert db_session().query(ProviderEvent).count() == 0  # the batch is refused whole


def test_signed_sendgrid_json_nested_too_deeply_is_400(client):
    response = sendgrid_post(client, [], raw=DEEP_JSON)
    assert response.status_code == 400
    assert_api_shape(response)


@pytest.mark.parametrize("age", [25 * 3600 + 60, -3600])
def test_sendgrid_events_signed_outside_the_window_are_refused(client, age):
    response = sendgrid_post(client, [{"event": "delivered", "sg_event_id": "e1"}],
                             timestamp=str(int(time.time() - age)))
    assert response.status_code == 403
    assert_api_shape(response)


def test_the_window_is_a_setting(make_app):
    app = make_app(TWILIO_AUTH_TOKEN=TWILIO_TOKEN, SENDGRID_WEBHOOK_PUBLIC_KEY=SENDGRID.public_key,
                   SENDGRID_WEBHOOK_MAX_AGE_SECONDS=60)
    client = app.test_client()
    events = [{"event": "delivered", "sg_event_id": "e1"}]
    assert sendgrid_post(client, events, timestamp=str(int(time.time() - 120))).status_code == 403
    response = sendgrid_post(client, events, timestamp=str(int(time.time() - 10)))
    assert response.status_code == 200 and response.get_json() == {"applied": 1}


def test_ordinary_json_bodies_are_read_as_before(client, app, login_as):
    response = client.post("/api/v1/travellers", data=json.dumps({"given_name": "A"}),
                           headers={**api_headers(app), "Content-Type": "application/json"})
    assert response.status_code == 422 and "fields" in response.get_json()
    login_as("coordinator@example.org")
    assert client.post("/alerts/sms-info", json={"text": "Bonjour"}).get_json()["segments"] == 1
    assert client.post("/alerts/sms-info", json=["text"]).status_code == 400
