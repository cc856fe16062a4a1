"""CSRF on every form (Flask-WTF); the JSON API and provider webhooks are exempt because
they authenticate each request by bearer token or provider signature instead."""
from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    csrf.init_app(app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def exempt_blueprint(bp) -> None:
    csrf.exempt(bp)
