"""Rate limits on the public pages anyone can post to (Flask-Limiter).

Registration, sign-in link requests and crisis check-ins cost us an email or a database row
each, and sign-in requests could be used to flood someone's mailbox: each is limited per IP
address, and sign-in requests also per email address. Check-in codes are limited per IP
address too, on top of their few tries per report. Counts live in Redis when `REDIS_URL`
is set (shared by every gunicorn worker and machine), else in memory (the embedded default).
`RATELIMIT_ENABLED=False` switches limits off (most tests do; the rate-limit tests do not).
Over the limit, the traveller sees a bilingual 429 page.

Staff log-in counts failed attempts (a wrong password or code) per account and per IP
address, so nobody can guess a password or a TOTP code; a staff member who signs in at
the first try never uses the budget. Over the limit, the log-in page says so in English
and French. The address is the client's: behind a proxy, set TRUSTED_PROXIES.
"""
from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from emergency.core.i18n import current_language, other_language

# Storage comes from app config (RATELIMIT_STORAGE_URI, set in init_app), not from here:
# one module-level limiter serves whichever app is built.
limiter = Limiter(key_func=get_remote_address)

# The demo multiplies every limit by RATELIMIT_DEMO_FACTOR: one person trying every form
# from one address would otherwise meet the 429 page within minutes.
DEMO_FACTOR = 50


def per_hour(count: int):
    """A limit Flask-Limiter reads at each request, so the demo can relax it."""
    return lambda: f"{count * current_app.config.get('RATELIMIT_DEMO_FACTOR', 1)}/hour"


REGISTER_PER_IP = per_hour(10)
SIGNIN_PER_IP = per_hour(5)
SIGNIN_PER_EMAIL = per_hour(3)
CHECKIN_PER_IP = per_hour(10)
# Each check-in report takes at most 5 codes (checkin_codes.MAX_TRIES); this caps how many
# reports one address can try codes on, so nobody sweeps the 10^6 codes across many reports.
CHECKIN_CODE_PER_IP = per_hour(20)
# Each new email or phone a signed-in traveller gives costs a message to that address.
CONTACT_CHANGE_PER_IP = per_hour(10)
# Staff log-in is not relaxed by the demo: its limits guard accounts, not a mailbox.
LOGIN_PER_IP = "30/hour"
LOGIN_PER_ACCOUNT = "10/hour"


def login_failed(response) -> bool:
    """Only refused attempts use up a log-in budget."""
    return response.status_code == 401


def account_key() -> str:
    """The limit key for "per staff account": the posted address, or the account waiting
    for its second factor."""
    from flask import session

    pending = session.get("login_pending") or {}
    if isinstance(pending, dict) and pending.get("uid"):
        return f"account:{pending['uid']}"
    return "account:" + " ".join((request.form.get("email") or "").split()).lower()


def email_key() -> str:
    """The limit key for "per email address": the posted address, trimmed and lower-cased,
    so `Ann@Example.org ` and `ann@example.org` share one budget."""
    return "email:" + " ".join((request.form.get("email") or "").split()).lower()


def too_many_texts(lang: str) -> dict[str, str]:
    with force_locale(lang):
        return {
            "lang": lang,
            "title": _("Too many attempts"),
            "body": _("You have tried this too many times in a short while. Please wait an "
                      "hour and try again."),
            "advice": _("If you need urgent help abroad, contact the nearest embassy or "
                        "consulate."),
        }


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

    @app.errorhandler(429)
    def _too_many(_error):
        first = current_language()
        second = other_language(first)
        if request.blueprint == "console":
            return render_template("console/too_many.html",
                                   sections=[login_too_many_texts(first), login_too_many_texts(second)]), 429
        return render_template("public/too_many.html",
                               sections=[too_many_texts(first), too_many_texts(second)]), 429


def login_too_many_texts(lang: str) -> dict[str, str]:
    with force_locale(lang):
        return {
            "lang": lang,
            "title": _("Too many sign-in attempts"),
            "body": _("There were too many failed sign-in attempts for this account or from this "
                      "address. Wait an hour, then try again; if you have forgotten your password, "
                      "ask an administrator."),
        }
