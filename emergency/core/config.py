"""Configuration from the environment: one table, `SETTINGS`, says for every variable its
type, default, check and meaning, and `load` reads them all the same way.

Secrets come only from the environment. In development mode (EMERGENCY_ENV=development,
which the demo command sets) a throw-away SECRET_KEY is generated; anywhere else a
missing SECRET_KEY, or one shorter than 32 bytes, stops the app at start-up rather than
signing links with a guessable key.
A value that cannot be right (SMS_BATCH_SIZE=abc, JOBS_MODE=nonsense, a negative size)
stops start-up too, with one line naming the variable and what it expects: a typo must not
quietly become a default during an emergency.
"""
from __future__ import annotations

import math
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import Flask


def N_(message: str) -> str:
    """Mark a message for translation; the CLI translates it when it shows the error."""
    return message


class ConfigurationError(RuntimeError):
    """Raised at start-up when the environment cannot run the app safely. `message` is an
    English template (marked with N_) and `params` its values, so that the command line
    can show it in the user's language (`i18n_errors.translate` reads the same two)."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


def _parse_int(text: str) -> int:
    return int(text.strip())


def _parse_float(text: str) -> float:
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError(text)
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(text)


@dataclass(frozen=True)
class Type:
    """How the text of a variable becomes a value; `expected` is the error when it does not."""

    name: str
    parse: Callable[[str], Any]
    expected: str


STR = Type("str", str, "")
INT = Type("int", _parse_int, N_("%(name)s must be a whole number, not %(value)s."))
FLOAT = Type("float", _parse_float, N_("%(name)s must be a number, not %(value)s."))
BOOL = Type("bool", _parse_bool, N_("%(name)s must be true or false (or 1/0, yes/no, on/off), not %(value)s."))


@dataclass(frozen=True)
class Check:
    """A rule the parsed value must follow; `expected` holds the error for each type name,
    which also stands when the text does not even parse (it says what would be right)."""

    accepts: Callable[[Any], bool]
    expected: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


POSITIVE = Check(lambda v: v > 0, {
    "int": N_("%(name)s must be a whole number greater than 0, not %(value)s."),
    "float": N_("%(name)s must be a number greater than 0, not %(value)s."),
})
NOT_NEGATIVE = Check(lambda v: v >= 0, {
    "int": N_("%(name)s must be a whole number, 0 or more, not %(value)s."),
})


def between(low: int, high: int) -> Check:
    return Check(lambda v: low <= v <= high,
                 {"int": N_("%(name)s must be a whole number from %(low)s to %(high)s, not %(value)s.")},
                 {"low": str(low), "high": str(high)})


def one_of(*choices: str) -> Check:
    return Check(lambda v: v in choices, {"str": N_("%(name)s must be one of %(choices)s, not %(value)s.")},
                 {"choices": ", ".join(choices)})


def url(*schemes: str, drivers: bool = False) -> Check:
    """A URL whose scheme is one of `schemes` (with `drivers`, also followed by +driver,
    as in postgresql+psycopg://) and that names something after the `//`."""
    def accepts(value: str) -> bool:
        scheme, sep, rest = value.partition("://")
        name = scheme.partition("+")[0] if drivers else scheme
        return bool(sep and rest) and name in schemes and not any(ch.isspace() for ch in value)

    return Check(accepts, {"str": N_("%(name)s must be a URL starting with %(schemes)s, not %(value)s.")},
                 {"schemes": ", ".join(f"{s}://" for s in schemes)})


@dataclass(frozen=True)
class Setting:
    """One environment variable. Unset or empty means `default` (a callable gets the app);
    a default of None makes the setting optional. `key` is the app.config key when it is
    not the variable's name; `normalise` tidies a value read from the environment."""

    name: str
    type: Type
    default: Any
    description: str
    check: Check | None = None
    key: str | None = None
    normalise: Callable[[Any], Any] | None = None

    @property
    def config_key(self) -> str:
        return self.key or self.name

    def read(self, environ: dict, app: Flask) -> Any:
        raw = environ.get(self.name)
        if raw is None or raw.strip() == "":
            return self.default(app) if callable(self.default) else self.default
        try:
            value = self.type.parse(raw)
        except ValueError:
            raise self._error(raw) from None
        if self.check is not None and not self.check.accepts(value):
            raise self._error(raw)
        return self.normalise(value) if self.normalise else value

    def _error(self, raw: str) -> ConfigurationError:
        check = self.check
        template = check.expected[self.type.name] if check else self.type.expected
        return ConfigurationError(template, name=self.name, value=_shown(raw), **(check.params if check else {}))


def _shown(raw: str) -> str:
    """The bad value for an error line: quoted, short, and never a URL's password."""
    text = re.sub(r"(://[^:/@\s]*):[^@/\s]*@", r"\1:***@", raw.strip())
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _sqlite_in_instance(app: Flask) -> str:
    return f"sqlite:///{Path(app.instance_path) / 'emergency.db'}"


_HTTP = url("http", "https")

SETTINGS: tuple[Setting, ...] = (
    Setting("EMERGENCY_ENV", STR, "production", "development makes a throw-away SECRET_KEY and allows the demo",
            key="ENV_NAME"),
    Setting("DATABASE_URL", STR, _sqlite_in_instance, "SQLite file or PostgreSQL+PostGIS database",
            check=url("sqlite", "postgresql", drivers=True)),
    Setting("REDIS_URL", STR, None, "Redis for RQ jobs, throughput caps and rate limits",
            check=url("redis", "rediss", "unix")),
    Setting("SECRET_KEY", STR, None, "signs sessions and links; at least 32 bytes; required outside development mode"),
    Setting("PUBLIC_BASE_URL", STR, "http://127.0.0.1:5000", "public URL of links in messages and of webhooks",
            check=_HTTP, normalise=lambda v: v.rstrip("/")),
    Setting("JOBS_MODE", STR, None, "rq, thread or sync; unset means rq with REDIS_URL, else thread",
            check=one_of("rq", "thread", "sync")),
    Setting("JOB_TIMEOUT", INT, 600, "seconds one background job may run before RQ stops it", check=POSITIVE),
    Setting("SENDGRID_API_KEY", STR, None, "SendGrid key; without it email goes to the outbox"),
    Setting("SENDGRID_API_BASE_URL", STR, "https://api.sendgrid.com", "SendGrid API address", check=_HTTP),
    Setting("SENDGRID_FROM", STR, "alerts@consular.example", "sender of alert emails"),
    Setting("SENDGRID_WEBHOOK_PUBLIC_KEY", STR, None, "key that verifies SendGrid event webhooks"),
    # SendGrid retries a refused batch for up to 24 hours: the default keeps those retries.
    Setting("SENDGRID_WEBHOOK_MAX_AGE_SECONDS", INT, 25 * 3600, "oldest signed SendGrid event webhook accepted (seconds)",
            check=POSITIVE),
    Setting("TWILIO_ACCOUNT_SID", STR, None, "Twilio account; without it SMS goes to the outbox"),
    Setting("TWILIO_AUTH_TOKEN", STR, None, "Twilio token; also verifies Twilio webhooks"),
    Setting("TWILIO_API_BASE_URL", STR, None, "Twilio API address (default: Twilio's own)", check=_HTTP),
    Setting("TWILIO_FROM", STR, None, "sending phone number of SMS"),
    Setting("TWILIO_MESSAGING_SERVICE_SID", STR, None, "Twilio messaging service that sends SMS"),
    Setting("SAFETY_LINK_MAX_AGE", INT, 30 * 24 * 3600, "seconds a one-click safety link stays valid",
            check=POSITIVE),
    Setting("APPROVAL_THRESHOLD", INT, 25, "sends to more recipients need a second person's approval",
            check=NOT_NEGATIVE),
    Setting("FOLLOWUP_DELAY_MINUTES", INT, 120, "default minutes before non-responders are asked again",
            check=between(5, 2880)),
    Setting("FOLLOWUP_ROUNDS", INT, 2, "default follow-up rounds to non-responders before their contact is asked",
            check=between(0, 5)),
    Setting("MAX_UPLOAD_BYTES", INT, 5 * 1024 * 1024, "largest upload outside partner imports",
            check=POSITIVE, key="MAX_CONTENT_LENGTH"),
    Setting("UPLOAD_TIME_LIMIT_SECONDS", FLOAT, 2.0, "seconds reading one uploaded zone file may take",
            check=POSITIVE),
    Setting("EMAIL_BATCH_SIZE", INT, 1000, "email recipients per delivery job", check=POSITIVE),
    Setting("SMS_BATCH_SIZE", INT, 1000, "SMS recipients per delivery job", check=POSITIVE),
    Setting("SMS_CONCURRENCY", INT, 8, "SMS requests each worker keeps in flight", check=POSITIVE),
    Setting("PURGE_AFTER_DAYS", INT, 548, "days after a traveller's last stop before the record is purged",
            check=NOT_NEGATIVE),
    Setting("PURGE_OPEN_STOP_AFTER_DAYS", INT, 730,
            "days after a stop without a departure date began before it no longer keeps the record", check=NOT_NEGATIVE),
    Setting("PARTNER_IMPORT_MAX_BYTES", INT, 64 * 1024 * 1024, "largest CSV a partner may upload",
            check=POSITIVE),
    Setting("SIGNIN_LINK_MAX_AGE", INT, 3600, "seconds a traveller's sign-in link stays valid", check=POSITIVE),
    Setting("RATELIMIT_ENABLED", BOOL, True, "rate limits on public forms and staff log-in"),
    Setting("TRUSTED_PROXIES", INT, 0, "reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Prefix "
            "headers are believed (0: none, the peer is the client)", check=between(0, 5)),
    Setting("REQUIRE_TOTP_FOR", STR, None, "lowest staff role that must sign in with a TOTP code (unset: optional for all)",
            check=one_of("viewer", "coordinator", "approver", "admin")),
    Setting("PROVIDER_TIMEOUT", FLOAT, 30.0, "seconds one provider call may take", check=POSITIVE),
    Setting("TWILIO_MPS", FLOAT, None, "Twilio messages per second, shared by all workers", check=POSITIVE),
    Setting("SENDGRID_RPS", FLOAT, None, "SendGrid requests per second, shared by all workers", check=POSITIVE),
    Setting("TWILIO_VALIDITY_PERIOD", INT, None, "seconds Twilio may keep trying an SMS (0: Twilio's default)",
            check=NOT_NEGATIVE, normalise=lambda v: v or None),
    Setting("DELIVERY_RETRY_BASE", FLOAT, 2.0, "first backoff of a temporary provider failure (seconds)",
            check=POSITIVE),
    Setting("DELIVERY_RETRY_CAP", FLOAT, 300.0, "longest backoff between provider retries (seconds)",
            check=POSITIVE),
    # A provider failing a share p of calls loses a message tried n times with probability p**n.
    # At p = 0.3: 8 attempts lose 0.3**8 = 6.6e-5 of messages, about one SMS every five runs of
    # 3,000; 20 lose 0.3**20 = 3.5e-11, one message in some 30 billion (a 100,000-recipient
    # alert by email and SMS: one loss in 140,000 alerts). The backoff (DELIVERY_RETRY_BASE
    # doubling up to DELIVERY_RETRY_CAP) puts the twentieth attempt about an hour after the first.
    Setting("DELIVERY_MAX_ATTEMPTS", INT, 20, "sends of one message before it is given up", check=POSITIVE),
    Setting("CAP_SENDER", STR, "consular.example", "sender of the CAP alerts we publish (an address or a domain)"),
    Setting("CAP_IDENTIFIER_PREFIX", STR, "urn:consular.example:alert", "our CAP alerts' identifiers: prefix:alert-id",
            check=Check(lambda v: not re.search(r"[\s,<&]", v),
                        {"str": N_("%(name)s must not contain spaces, commas, < or &, not %(value)s.")})),
    Setting("CAP_GEOCODE_MAP", STR, None, "GeoJSON of CAP-CP location codes (feature id or properties.code) "
            "used for CAP areas without a polygon or circle"),
    Setting("TRIGGER_HMAC_SECRET", STR, None, "shared secret of X-Signature: sha256=... on POST /api/v1/triggers"),
    Setting("DELIVERY_STALE_SECONDS", INT, 900, "age of a claim that belongs to a dead worker; above JOB_TIMEOUT",
            check=POSITIVE),
    Setting("FEED_POLL_SECONDS", INT, 60, "seconds between two polls of every hazard feed", check=POSITIVE),
    Setting("FEED_TIMEOUT", FLOAT, 20.0, "seconds one hazard feed request may take", check=POSITIVE),
    Setting("FEED_POLLING", BOOL, True, "poll the hazard feeds (thread mode: a timer in the web process; rq: emergency cron)"),
    Setting("HAZARD_EQ_RADIUS", STR, "50,2", "earthquake zone radius: base_km at M5,factor per magnitude unit[,min_km,max_km]"),
    Setting("HAZARD_CORRIDOR_KM", FLOAT, 150.0, "half-width of a cyclone track's corridor (km)", check=POSITIVE),
    Setting("HAZARD_GEOCODE_FILE", STR, None, "JSON file mapping CAP geocodes (\"valueName:value\") to GeoJSON or country codes"),
)

# Sessions and links are signed with SECRET_KEY; a short key can be guessed offline from
# any signed cookie or link.
MIN_SECRET_KEY_BYTES = 32

# Not from the environment: the same in every deployment.
FIXED = {
    "BABEL_DEFAULT_LOCALE": "en",
    "LANGUAGES": ("en", "fr"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
}


def load(app: Flask, overrides: dict) -> None:
    """Fill `app.config` from the settings' defaults and the environment, then `overrides`
    (tests), then apply the rules that tie settings together."""
    config = app.config
    config.update({setting.config_key: setting.read(os.environ, app) for setting in SETTINGS})
    config.update(FIXED)
    config.update(overrides)
    development = config["ENV_NAME"] == "development"
    if not config["SECRET_KEY"]:
        if not development:
            raise ConfigurationError(N_("SECRET_KEY is not set. Set it in the environment "
                                        "(or EMERGENCY_ENV=development for a throw-away key)."))
        config["SECRET_KEY"] = secrets.token_hex(32)
    if len(config["SECRET_KEY"].encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigurationError(N_("SECRET_KEY is too short: it must be at least %(bytes)s bytes "
                                    "(for example, python -c \"import secrets; print(secrets.token_hex(32))\")."),
                                 bytes=MIN_SECRET_KEY_BYTES)
    if not development and not config.get("TESTING"):
        # Outside development the console is served over https (directly or behind a
        # proxy): a session cookie must never travel in clear text.
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
    if config["JOBS_MODE"] is None:
        config["JOBS_MODE"] = "rq" if config["REDIS_URL"] else "thread"
    if config["JOBS_MODE"] == "rq" and not config["REDIS_URL"]:
        raise ConfigurationError(N_("JOBS_MODE=rq needs REDIS_URL."))
    # A claim younger than the longest a job may run may belong to a worker still sending
    # it; taking it would send those messages twice.
    if config["DELIVERY_STALE_SECONDS"] <= config["JOB_TIMEOUT"]:
        raise ConfigurationError(
            N_("DELIVERY_STALE_SECONDS (%(stale)s) must be greater than JOB_TIMEOUT (%(timeout)s), or a "
               "delivery still being sent could be taken by another worker and sent twice."),
            stale=config["DELIVERY_STALE_SECONDS"], timeout=config["JOB_TIMEOUT"])
    if config["DATABASE_URL"].startswith("postgresql://"):
        config["DATABASE_URL"] = "postgresql+psycopg://" + config["DATABASE_URL"][len("postgresql://"):]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
