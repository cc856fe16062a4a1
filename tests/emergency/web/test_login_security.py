"""Staff log-in that resists guessing (failed attempts limited per account and per address,
the same work for known and unknown accounts, an optional TOTP second factor required from
a configured role up), the client's address behind a trusted proxy, and production headers
and secrets."""
from __future__ import annotations

import re

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from emergency.core.config import ConfigurationError, load
from emergency.core.models import AuditEntry, User
from tests.conftest import PASSWORD, login


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def wrong(client, email: str, address: str):
    return client.post("/login", data={"email": email, "password": "guess"}, **from_address(address))


# --- rate limits ------------------------------------------------------------------------------

@pytest.fixture
def limited(make_app):
    return make_app(RATELIMIT_ENABLED=True)


def test_failed_log_ins_are_limited_per_account_from_any_address(limited):
    client = limited.test_client()
    for n in range(10):
        assert wrong(client, "viewer@example.org", f"198.51.100.{n}").status_code == 401
    blocked = client.post("/login", data={"email": "viewer@example.org", "password": PASSWORD},
                          **from_address("198.51.100.50"))
    assert blocked.status_code == 429  # even the right password, until the hour is over
    other = client.post("/login", data={"email": "approver@example.org", "password": PASSWORD},
                        **from_address("198.51.100.50"))
    assert other.status_code == 302


def test_failed_log_ins_are_limited_per_address_across_accounts(limited):
    client = limited.test_client()
    for n in range(30):
        assert wrong(client, f"guess{n}@example.org", "203.0.113.9").status_code == 401
    assert wrong(client, "someone-else@example.org", "203.0.113.9").status_code == 429
    assert wrong(client, "someone-else@example.org", "203.0.113.10").status_code == 401


def test_successful_log_ins_use_no_budget(limited):
    client = limited.test_client()
    for _ in range(12):
        response = client.post("/login", data={"email": "coordinator@example.org", "password": PASSWORD},
                               **from_address("192.0.2.44"))
        assert response.status_code == 302
        client.post("/logout", **from_address("192.0.2.44"))


def test_the_limit_is_explained_in_both_languages_reader_first(limited):
    client = limited.test_client()
    client.get("/login?lang=fr")
    for n in range(10):
        wrong(client, "approver@example.org", f"198.51.101.{n}")
    page = client.post("/login", data={"email": "approver@example.org", "password": "x"},
                       **from_address("198.51.101.99")).get_data(as_text=True)
    assert page.index("Trop de tentatives de connexion") < page.index("Too many sign-in attempts")
    assert 'lang="fr"' in page and 'lang="en"' in page


# --- the same work for unknown accounts -----------------------------------------------------

def test_an_unknown_account_costs_a_password_check_like_a_known_one(app, monkeypatch):
    from emergency.core import auth

    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    with app.test_request_context():
        assert auth.authenticate("nobody@example.org", "guess") is None
        assert auth.authenticate("", "") is None
    assert len(checked) == 2 and all(h.startswith(("scrypt:", "pbkdf2:")) for h in checked)


def test_an_inactive_account_is_refused_even_with_the_right_password(app):
    from emergency.core.auth import authenticate
    from emergency.core.database import db_session

    with app.app_context():
        user = db_session().scalar(select(User).where(User.email == "viewer@example.org"))
        user.active = False
        db_session().commit()
        assert authenticate("viewer@example.org", PASSWORD) is None


# --- TOTP ---------------------------------------------------------------------------------

def enrol(client) -> str:
    page = client.get("/account/two-step").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    assert "otpauth://totp/" in page
    response = client.post("/account/two-step", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return secret


def test_a_coordinator_may_turn_on_totp_and_then_needs_a_code_to_sign_in(app, client):
    login(client, "coordinator@example.org")
    secret = enrol(client)
    assert "totp-secret" not in client.get("/account/two-step").get_data(as_text=True)  # shown once
    client.post("/logout")
    step = client.post("/login", data={"email": "coordinator@example.org", "password": PASSWORD})
    assert step.status_code == 302 and step.headers["Location"] == "/login/code"
    assert client.get("/cases").status_code == 302  # not signed in yet
    assert client.post("/login/code", data={"code": "000000"}).status_code == 401
    done = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and client.get("/cases").status_code == 200
    from emergency.core.database import db_session

    with app.app_context():
        actions = [e.action for e in db_session().scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "user.totp_enrolled" in actions and "user.signin_failed" in actions


def test_a_wrong_code_does_not_turn_totp_on_and_keeps_the_key_shown(app, client):
    login(client, "coordinator@example.org")
    first = re.search(r'id="totp-secret">(\w+)<', client.get("/account/two-step").get_data(as_text=True)).group(1)
    secret = pyotp.TOTP(first)
    code = "000000" if secret.now() != "000000" else "111111"
    refused = client.post("/account/two-step", data={"code": code})
    assert refused.status_code == 400  # signed in: a form to correct, not a refusal
    assert re.search(r'id="totp-secret">(\w+)<', refused.get_data(as_text=True)).group(1) == first
    from emergency.core.database import db_session

    with app.app_context():
        assert db_session().scalar(select(User).where(User.email == "coordinator@example.org")).totp_secret is None


def test_a_code_page_without_a_password_first_goes_back_to_the_log_in(client):
    response = client.post("/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


@pytest.mark.parametrize("app_overrides", [{"REQUIRE_TOTP_FOR": "approver"}])
def test_when_required_approvers_set_up_totp_before_they_get_in_and_coordinators_do_not(app, client):
    step = client.post("/login", data={"email": "approver@example.org", "password": PASSWORD})
    assert step.headers["Location"] == "/account/two-step"
    assert client.get("/cases").status_code == 302
    secret = enrol(client)
    assert client.get("/cases").status_code == 200
    assert client.post("/account/two-step/off", data={"code": pyotp.TOTP(secret).now()}).status_code == 403
    client.post("/logout")
    step = client.post("/login", data={"email": "approver@example.org", "password": PASSWORD})
    assert step.headers["Location"] == "/login/code"

    other = app.test_client()
    assert other.post("/login", data={"email": "coordinator@example.org", "password": PASSWORD}).headers[
        "Location"] == "/"


# --- behind a proxy -------------------------------------------------------------------------

FORWARDED = {"X-Forwarded-For": "203.0.113.77", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "consular.example"}


@pytest.mark.parametrize(("proxies", "expected"), [(1, "203.0.113.77"), (0, "10.0.0.2")])
def test_the_audit_log_keeps_the_clients_address_only_behind_a_trusted_proxy(make_app, proxies, expected):
    app = make_app(TRUSTED_PROXIES=proxies)
    client = app.test_client()
    client.post("/login", data={"email": "viewer@example.org", "password": "nope"}, headers=FORWARDED,
                **from_address("10.0.0.2"))
    from emergency.core.database import db_session

    with app.app_context():
        assert db_session().scalars(select(AuditEntry.address)).all() == [expected]


def test_behind_a_trusted_proxy_log_in_limits_count_per_client_not_per_proxy(make_app):
    app = make_app(TRUSTED_PROXIES=1, RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(30):
        response = client.post("/login", data={"email": f"g{n}@example.org", "password": "x"},
                               headers={"X-Forwarded-For": "203.0.113.80"}, **from_address("10.0.0.2"))
        assert response.status_code == 401
    assert client.post("/login", data={"email": "z@example.org", "password": "x"},
                       headers={"X-Forwarded-For": "203.0.113.80"}, **from_address("10.0.0.2")).status_code == 429
    assert client.post("/login", data={"email": "z@example.org", "password": "x"},
                       headers={"X-Forwarded-For": "203.0.113.81"}, **from_address("10.0.0.2")).status_code == 401


@pytest.mark.parametrize(("proxies", "status"), [(1, 200), (0, 403)])
def test_twilio_signatures_are_checked_against_the_public_url_the_proxy_forwarded(make_app, proxies, status):
    from twilio.request_validator import RequestValidator

    app = make_app(TRUSTED_PROXIES=proxies, TWILIO_AUTH_TOKEN="tw-token", PUBLIC_BASE_URL="https://old.example")
    params = {"MessageSid": "SM1", "From": "+15550001111", "To": "+15550002222", "Body": "hello"}
    signature = RequestValidator("tw-token").compute_signature("https://consular.example/webhooks/twilio/sms", params)
    response = app.test_client().post("/webhooks/twilio/sms", data=params,
                                      headers={**FORWARDED, "X-Twilio-Signature": signature})
    assert response.status_code == status


# --- headers and secrets -------------------------------------------------------------------------

def test_every_page_carries_a_policy_that_allows_only_our_own_scripts_and_styles(client):
    login(client, "coordinator@example.org")
    for path in ("/login", "/cases", "/register", "/my"):
        policy = client.get(path).headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_hsts_only_over_https(make_app):
    app = make_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    assert client.get("/login", base_url="https://localhost").headers["Strict-Transport-Security"].startswith(
        "max-age=31536000")
    assert "Strict-Transport-Security" in client.get("/login", headers={"X-Forwarded-Proto": "https"}).headers


def test_rendered_pages_have_no_inline_script_or_handler(client, app):
    login(client, "coordinator@example.org")
    for path in ("/login", "/", "/cases", "/incidents/new", "/register", "/my", "/oncall", "/feeds", "/advisories"):
        page = client.get(path).get_data(as_text=True)
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", page)
        assert scripts == [], (path, scripts)
        assert not re.search(r"\son[a-z]+\s*=", page), path
        assert not re.search(r"\sstyle\s*=", page), path


@pytest.fixture
def bare_environment(monkeypatch):
    from emergency.core.config import SETTINGS

    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)


def test_a_secret_key_shorter_than_32_bytes_stops_start_up(bare_environment, tmp_path):
    app = Flask(__name__, instance_path=str(tmp_path))
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        load(app, {"SECRET_KEY": "x" * 31})
    load(app, {"SECRET_KEY": "x" * 32})


@pytest.mark.parametrize("env", ["production", "development"])
def test_session_cookies_are_secure_outside_development(bare_environment, tmp_path, env):
    app = Flask(__name__, instance_path=str(tmp_path))
    load(app, {"SECRET_KEY": "x" * 32, "ENV_NAME": env, "PUBLIC_BASE_URL": "http://intranet.example"})
    assert bool(app.config.get("SESSION_COOKIE_SECURE")) is (env == "production")


def test_advisory_badges_keep_their_level_colours_as_classes():
    """The policy allows no style attribute, so each level's colour lives in console.css."""
    from pathlib import Path

    from emergency.services.advisories import LEVEL_COLOURS

    css = (Path(__file__).resolve().parents[3] / "emergency/static/css/console.css").read_text()
    for level, colour in LEVEL_COLOURS.items():
        assert re.search(rf"\.advisory-badge-{level}\s*\{{\s*background:\s*{colour};", css), level
