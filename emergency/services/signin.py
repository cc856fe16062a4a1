"""Password-less sign-in for travellers: a signed, expiring, single-use link sent by email.

The link carries `[traveller_id, nonce]` signed with SECRET_KEY (itsdangerous, its own salt
so a safety-check link can never be replayed as a sign-in link). The nonce is stored in
`signin_tokens`; opening the link marks it used with a conditional UPDATE, so two clicks
(or two tabs racing) sign in once. Links expire after SIGNIN_LINK_MAX_AGE seconds.
The traveller's session holds their id and the link's nonce, separate from staff log-in;
it lasts while the link's row is not ended, so signing out (which ends it) refuses any copy
of the cookie.
"""
from __future__ import annotations

import secrets

from flask import current_app
from flask import session as web_session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from common.clock import utcnow
from emergency.core.database import db_session
from emergency.core.models import SigninToken

SALT = "traveller-signin-v1"
SESSION_KEY = "traveller_id"
NONCE_KEY = "traveller_signin"
DEFAULT_MAX_AGE = 3600


class SigninInvalid(Exception):
    """Altered, not ours, or about a traveller who no longer exists."""


class SigninExpired(Exception):
    """Ours, but older than SIGNIN_LINK_MAX_AGE."""


class SigninUsed(Exception):
    """Ours and fresh, but already opened once."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def max_age() -> int:
    return int(current_app.config.get("SIGNIN_LINK_MAX_AGE") or DEFAULT_MAX_AGE)


def issue_token(traveller_id: int) -> str:
    """Store a fresh nonce for the traveller and return the signed token (caller commits)."""
    nonce = secrets.token_urlsafe(24)
    db_session().add(SigninToken(nonce=nonce, traveller_id=traveller_id,
                                 created_at=utcnow()))
    return _serializer().dumps([traveller_id, nonce])


def signin_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/my/signin/{token}"


def consume_token(token: str) -> int:
    """The traveller id of a valid, unused link, marking it used (commits).

    Raises SigninExpired, SigninUsed or SigninInvalid.
    """
    try:
        traveller_id, nonce = _serializer().loads(token, max_age=max_age())
    except SignatureExpired:
        raise SigninExpired() from None
    except (BadSignature, ValueError, TypeError):
        raise SigninInvalid() from None
    if not isinstance(traveller_id, int) or not isinstance(nonce, str):
        raise SigninInvalid()
    session = db_session()
    claimed = session.execute(
        update(SigninToken)
        .where(SigninToken.nonce == nonce, SigninToken.traveller_id == traveller_id,
               SigninToken.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    session.commit()
    if claimed == 1:
        return traveller_id
    exists = session.query(SigninToken.id).filter(SigninToken.nonce == nonce).first()
    if exists is not None:
        raise SigninUsed()
    raise SigninInvalid()  # the traveller was deleted (their nonces went with them)


def sign_in(traveller_id: int, token: str) -> None:
    """Open the traveller's session with the link `token` that `consume_token` accepted."""
    _, nonce = _serializer().loads(token)
    lang = web_session.get("lang")
    web_session.clear()  # a fresh session: nothing from before the link survives but the language
    if lang:
        web_session["lang"] = lang
    web_session[SESSION_KEY] = traveller_id
    web_session[NONCE_KEY] = nonce


def sign_out() -> None:
    """End the session here and on the server (commits)."""
    nonce = web_session.get(NONCE_KEY)
    if isinstance(nonce, str):
        session = db_session()
        session.execute(update(SigninToken).where(SigninToken.nonce == nonce, SigninToken.ended_at.is_(None))
                        .values(ended_at=utcnow()))
        session.commit()
    web_session.pop(SESSION_KEY, None)
    web_session.pop(NONCE_KEY, None)


def signed_in_id() -> int | None:
    value = web_session.get(SESSION_KEY)
    nonce = web_session.get(NONCE_KEY)
    if not isinstance(value, int) or not isinstance(nonce, str):
        return None
    live = db_session().scalar(select(SigninToken.id).where(
        SigninToken.nonce == nonce, SigninToken.traveller_id == value, SigninToken.ended_at.is_(None)))
    return value if live is not None else None
