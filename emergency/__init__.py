"""Consular emergency response: the Flask application factory.

`create_app()` wires configuration, the database, translations, log-in, CSRF, rate limits,
the job runner, every blueprint and the CLI, following Flask's tutorial layout so that
tests, the CLI, gunicorn (`wsgi.py`) and RQ workers all build the same app.

The package is one folder per layer: `core` (plumbing every layer uses), `services` (what
views, jobs and the CLI call), `jobs` (background work), `web` (blueprints) and `cli`.
"""
from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, redirect, url_for

PACKAGE_DIR = Path(__file__).resolve().parent


def template_folder(package_dir: Path = PACKAGE_DIR) -> Path:
    """Where the Jinja templates are: `emergency/templates` in an installed wheel (the build
    copies the repository's top-level `templates/` there, see setup.py), else the checkout's
    `templates/` beside the package (editable installs, running from a clone)."""
    packaged = package_dir / "templates"
    return packaged if packaged.is_dir() else package_dir.parent / "templates"


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build the application; `config_overrides` wins over the environment (tests use it)."""
    from emergency import cli
    from emergency.core import audit, auth, config, database, i18n, inputs, rate_limits, security
    from emergency.jobs import runner
    from emergency.web import api, console, errors, public, webhooks

    app = Flask(
        __name__,
        template_folder=str(template_folder()),
        static_folder="static",
        instance_relative_config=True,
    )
    config.load(app, config_overrides or {})
    inputs.init_app(app)  # bounded ids and nesting-safe JSON, before any route is added

    database.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    runner.init_app(app)
    audit.init_app(app)
    rate_limits.init_app(app)
    for blueprint in (*console.BLUEPRINTS, *public.BLUEPRINTS):
        app.register_blueprint(blueprint)
    # The API and the webhooks authenticate every request (bearer token, provider
    # signature) and carry no cookies, so CSRF tokens do not apply to them.
    for blueprint in (*api.BLUEPRINTS, webhooks.bp):
        app.register_blueprint(blueprint)
        security.exempt_blueprint(blueprint)
    errors.register(app)
    cli.init_app(app)
    if app.config["JOBS_MODE"] == "thread" and not app.testing:
        _start_embedded_cron(app)

    @app.get("/favicon.ico")
    def favicon():
        """Browsers and bookmarks ask for /favicon.ico whatever the page's <link> says."""
        return redirect(url_for("static", filename="favicon.svg"), 301)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def _start_embedded_cron(app: Flask) -> None:
    """The embedded runner's `emergency cron`: a lost follow-up tick is swept up within a
    minute, and the hazard feeds are polled every FEED_POLL_SECONDS (when FEED_POLLING is on).
    Started by the first request, so only a process that serves pages runs it (not every CLI
    command or script that builds an application)."""
    started = threading.Lock()

    @app.before_request
    def start_cron_once():
        if started.acquire(blocking=False):
            from emergency.jobs import feeds, followup

            jobs = app.extensions["jobs"]
            jobs.every(60, followup.sweep_due, "followup-sweep", queue="alerts")
            if app.config.get("FEED_POLLING"):
                jobs.every(app.config["FEED_POLL_SECONDS"], feeds.poll_all, "feed-poll", queue="alerts")
