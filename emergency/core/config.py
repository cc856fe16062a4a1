"""Configuration from the environment, with safe defaults only in development.

Secrets come only from the environment. In development mode (EMERGENCY_ENV=development,
which the demo command sets) a throw-away SECRET_KEY is generated; anywhere else a
missing SECRET_KEY stops the app at start-up rather than signing links with a guessable key.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask


class ConfigurationError(RuntimeError):
    """Raised at start-up when the environment cannot run the app safely."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def load(app: Flask, overrides: dict) -> None:
    """Fill `app.config` from defaults, then the environment, then `overrides`."""
    env = os.environ
    instance = Path(app.instance_path)
    development = overrides.get("ENV_NAME", env.get("EMERGENCY_ENV", "production")) == "development"
    app.config.update(
        ENV_NAME="development" if development else env.get("EMERGENCY_ENV", "production"),
        DATABASE_URL=env.get("DATABASE_URL") or f"sqlite:///{instance / 'emergency.db'}",
        REDIS_URL=env.get("REDIS_URL") or None,
        SECRET_KEY=env.get("SECRET_KEY") or None,
        PUBLIC_BASE_URL=(env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        SENDGRID_API_KEY=env.get("SENDGRID_API_KEY") or None,
        SENDGRID_API_BASE_URL=env.get("SENDGRID_API_BASE_URL") or "https://api.sendgrid.com",
        SENDGRID_FROM=env.get("SENDGRID_FROM") or "alerts@consular.example",
        SENDGRID_WEBHOOK_PUBLIC_KEY=env.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
        TWILIO_ACCOUNT_SID=env.get("TWILIO_ACCOUNT_SID") or None,
        TWILIO_AUTH_TOKEN=env.get("TWILIO_AUTH_TOKEN") or None,
        TWILIO_API_BASE_URL=env.get("TWILIO_API_BASE_URL") or None,
        TWILIO_FROM=env.get("TWILIO_FROM") or None,
        TWILIO_MESSAGING_SERVICE_SID=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        # How long a one-click safety link stays valid (seconds); default 30 days.
        SAFETY_LINK_MAX_AGE=_env_int("SAFETY_LINK_MAX_AGE", 30 * 24 * 3600),
        # Sends to more recipients than this need a second person's approval.
        APPROVAL_THRESHOLD=_env_int("APPROVAL_THRESHOLD", 25),
        MAX_CONTENT_LENGTH=_env_int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
        EMAIL_BATCH_SIZE=_env_int("EMAIL_BATCH_SIZE", 1000),
        SMS_BATCH_SIZE=_env_int("SMS_BATCH_SIZE", 1000),
        # SMS requests each worker keeps in flight (the throughput cap still applies).
        SMS_CONCURRENCY=_env_int("SMS_CONCURRENCY", 8),
        # Records are purged this many days after their last stop ended (~18 months),
        # and a partner's CSV upload over the API may be this large (100,000 rows is ~12 MB).
        PURGE_AFTER_DAYS=_env_int("PURGE_AFTER_DAYS", 548),
        PARTNER_IMPORT_MAX_BYTES=_env_int("PARTNER_IMPORT_MAX_BYTES", 64 * 1024 * 1024),
        # Traveller sign-in links expire after this many seconds (default 1 hour);
        # rate limits on public forms (Flask-Limiter; Redis storage when REDIS_URL is set).
        SIGNIN_LINK_MAX_AGE=_env_int("SIGNIN_LINK_MAX_AGE", 3600),
        RATELIMIT_ENABLED=(env.get("RATELIMIT_ENABLED") or "true").lower() not in ("0", "false", "no"),
        # Provider calls: seconds each call may take; a throughput cap per provider
        # (Twilio messages / SendGrid requests per second, shared through Redis; unset = none);
        # retries of temporary failures (exponential backoff from BASE seconds, capped, with
        # jitter, never sooner than Retry-After), at most MAX_ATTEMPTS sends per message; a
        # claim older than STALE_SECONDS belongs to a dead worker and is taken again.
        PROVIDER_TIMEOUT=float(env.get("PROVIDER_TIMEOUT") or 30),
        TWILIO_MPS=float(env["TWILIO_MPS"]) if env.get("TWILIO_MPS") else None,
        SENDGRID_RPS=float(env["SENDGRID_RPS"]) if env.get("SENDGRID_RPS") else None,
        TWILIO_VALIDITY_PERIOD=_env_int("TWILIO_VALIDITY_PERIOD", 0) or None,
        DELIVERY_RETRY_BASE=float(env.get("DELIVERY_RETRY_BASE") or 2),
        DELIVERY_RETRY_CAP=float(env.get("DELIVERY_RETRY_CAP") or 300),
        DELIVERY_MAX_ATTEMPTS=_env_int("DELIVERY_MAX_ATTEMPTS", 8),
        DELIVERY_STALE_SECONDS=_env_int("DELIVERY_STALE_SECONDS", 900),
        JOBS_MODE=env.get("JOBS_MODE") or None,  # "rq", "thread" or "sync"; None = rq if REDIS_URL
        BABEL_DEFAULT_LOCALE="en",
        LANGUAGES=("en", "fr"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.update(overrides)
    if not app.config["SECRET_KEY"]:
        if app.config["ENV_NAME"] != "development":
            raise ConfigurationError(
                "SECRET_KEY is not set. Set it in the environment "
                "(or EMERGENCY_ENV=development for a throw-away key)."
            )
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    if app.config["ENV_NAME"] != "development" and not app.testing:
        app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_BASE_URL"].startswith("https://")
    if app.config["JOBS_MODE"] is None:
        app.config["JOBS_MODE"] = "rq" if app.config["REDIS_URL"] else "thread"
    if app.config["DATABASE_URL"].startswith("postgresql://"):
        app.config["DATABASE_URL"] = "postgresql+psycopg://" + app.config["DATABASE_URL"][len("postgresql://"):]
    instance.mkdir(parents=True, exist_ok=True)
