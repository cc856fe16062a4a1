"""Who may do what: console log-in (Flask-Login) and bearer tokens for the JSON API.

Roles rank viewer < coordinator < approver < admin. API tokens are stored only as
SHA-256 hashes, so a database leak does not leak working tokens.
"""
from __future__ import annotations

import hashlib
import secrets
from functools import wraps

from flask import Flask, abort, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy import select

from emergency.core.database import db_session
from emergency.core.models import User

login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = _l("Please sign in to continue.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(user_id: str):
    return db_session().get(User, int(user_id))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same answer for any failure)."""
    user = db_session().scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    if user.role == "partner":  # partners use their API token only; the console is staff-only
        return None
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User) -> str:
    """Give `user` a new API token (shown once) and store its hash; caller commits."""
    token = "ert_" + secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    return token


def create_user(email: str, name: str, role: str, password: str | None = None, language: str = "en") -> User:
    user = User(email=email.strip().lower(), name=name, role=role, language=language)
    if password:
        user.set_password(password)
    db_session().add(user)
    return user


def role_required(role: str):
    """Console views: log in first, then need at least `role`."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def api_role_required(role: str):
    """JSON API: `Authorization: Bearer <token>` of an active user with at least `role`.

    Refusals abort with 401 (no valid token) or 403 (the role is too low); every API
    blueprint answers those in the API's error shape (`web.api.errors`)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            user = None
            if scheme.lower() == "bearer" and token.strip():
                user = db_session().scalar(select(User).where(User.api_token_hash == hash_token(token.strip())))
            if user is None or not user.active:
                abort(401)
            if not user.has_role(role):
                abort(403)
            g.api_user = user
            return view(*args, **kwargs)

        return wrapper

    return decorator


def acting_user() -> User | None:
    """The user behind this request, from the API token or the console session; None in a
    background job (no request), such as a trigger rule acting on a feed's event."""
    if g.get("api_user") is not None:
        return g.api_user
    if not has_request_context():
        return None
    return current_user if current_user.is_authenticated else None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
