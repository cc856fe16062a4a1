"""Consular emergency response: the Flask application factory.

`create_app()` wires configuration, the database, translations, log-in, CSRF,
the job runner and every blueprint, following Flask's tutorial layout so that
tests, the CLI, gunicorn (`wsgi.py`) and RQ workers all build the same app.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build the application; `config_overrides` wins over the environment (tests use it)."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
        instance_relative_config=True,
    )
    from . import config

    config.load(app, config_overrides or {})

    from . import audit, auth, console, database, i18n, jobs, public, security
    from . import api, cli, registration, webhooks

    database.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    jobs.init_app(app)
    audit.init_app(app)
    app.register_blueprint(console.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(webhooks.bp)
    from . import advisories_views, partner_api, travellers_views  # issue 3B

    app.register_blueprint(partner_api.bp)
    app.register_blueprint(advisories_views.bp)
    app.register_blueprint(advisories_views.api_bp)
    app.register_blueprint(travellers_views.bp)
    app.register_blueprint(travellers_views.api_bp)
    security.exempt_blueprint(partner_api.bp)
    security.exempt_blueprint(advisories_views.api_bp)
    security.exempt_blueprint(travellers_views.api_bp)
    from . import checkin, limits, selfservice  # issue 3A

    limits.init_app(app)
    app.register_blueprint(selfservice.bp)
    app.register_blueprint(checkin.bp)
    security.exempt_blueprint(webhooks.bp)
    security.exempt_blueprint(api.bp)
    cli.init_app(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
