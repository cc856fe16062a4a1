"""The providers a job sends through (SendGrid and Twilio, or the outbox), built once per
process from configuration, with the Redis client that throughput caps share."""
from __future__ import annotations

from flask import Flask, current_app

from notify.providers.factory import build_providers


def providers():
    """The (email, sms) providers of this process, built once from configuration."""
    app = current_app._get_current_object()
    if "providers" not in app.extensions:
        factory = app.extensions["db_session"].session_factory


        app.extensions["providers"] = build_providers(app.config, factory, redis=provider_redis(app))
    return app.extensions["providers"]


def provider_redis(app: Flask):
    """The Redis client provider throughput caps share between workers (None: per process)."""
    if app.config.get("JOBS_MODE") == "rq" and app.config.get("REDIS_URL"):
        from redis import Redis

        return Redis.from_url(app.config["REDIS_URL"])
    return None
