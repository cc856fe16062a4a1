"""What every response and request shares for safety: CSRF on every form (Flask-WTF; the
JSON API and provider webhooks are exempt because they authenticate each request by bearer
token or provider signature instead), the reverse proxies we believe, and the headers that
tell the browser what a page may do.

The Content-Security-Policy allows scripts, styles, images and requests from this site only:
pages carry no inline script, no `on…=` handler and no `style=` attribute (page data travels
in data attributes or `<script type="application/json">` blocks, which are never executed),
so an injected tag cannot run. HSTS is sent on https responses only, since a browser ignores
it over http and a development server must stay reachable on http.
"""
from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()

HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(tile_url: str | None = None) -> str:
    """The policy; a configured map tile server (MAP_TILE_URL) is the one outside origin,
    for images only."""
    images = ["'self'", "data:"]
    scheme, _, rest = (tile_url or "").partition("://")
    host = rest.split("/", 1)[0].replace("{s}", "*")  # Leaflet's {s} subdomains: a., b., c.
    if scheme in ("http", "https") and host:
        images.append(f"{scheme}://{host}")
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(images),
        "connect-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if proxies:
        # Only the last `proxies` hops are believed: a client cannot pose as another address
        # by sending its own X-Forwarded-For, since our proxy appends the real one after it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_prefix=proxies)
    policy = content_security_policy(app.config.get("MAP_TILE_URL"))

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", policy)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def exempt_blueprint(bp) -> None:
    csrf.exempt(bp)
