"""Who may do what: console log-in (Flask-Login) and bearer tokens for the JSON API.

Roles rank viewer < coordinator < approver < admin. API tokens are stored only as
SHA-256 hashes, so a database leak does not leak working tokens.

A console session names the user as "id:session_version" and every request checks both, so
signing out (which bumps the version) refuses any copy of the cookie made before. Checking
a password takes the same time whether the account exists or not, so timing does not tell
an attacker which addresses are staff accounts.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from functools import wraps

from flask import Flask, abort, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from emergency.core.database import db_session
from emergency.core.models import ROLE_RANK, User

login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = _l("Please sign in to continue.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(session_id: str):
    user_id, sep, version = (session_id or "").partition(":")
    if not sep or not user_id.isdigit() or not version.isdigit():
        return None
    user = db_session().get(User, int(user_id))
    if user is None or not user.active or (user.session_version or 0) != int(version):
        return None
    return user


def end_sessions(user: User) -> None:
    """Make every session cookie issued to `user` so far worthless, on every device they
    signed in from (caller commits)."""
    user.session_version = (user.session_version or 0) + 1


@functools.lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A password hash made the same way as real ones, checked when there is no account,
    so a wrong address costs as long as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same answer, and the same
    time, for any failure)."""
    user = db_session().scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.password_hash:
        check_password_hash(_decoy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    if user.role == "partner":  # partners use their API token only; the console is staff-only
        return None
    return user


def totp_required(user: User) -> bool:
    """Must `user` sign in with a TOTP code? When REQUIRE_TOTP_FOR names a role, everyone
    from that role up must (they are asked to enrol at their next sign-in)."""
    from flask import current_app

    lowest = current_app.config.get("REQUIRE_TOTP_FOR")
    return bool(lowest) and ROLE_RANK[user.role] >= ROLE_RANK[lowest]


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
