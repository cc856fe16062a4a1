"""Signed, expiring links that let a traveller answer a safety check in one click.

The token names the incident and the traveller and nothing else; it is signed with the
app's SECRET_KEY (itsdangerous) and expires after SAFETY_LINK_MAX_AGE seconds.
"""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "safety-check-v1"


class LinkInvalid(Exception):
    """The link was altered or is not ours."""


class LinkExpired(Exception):
    """The link was ours but is too old."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(incident_id: int, traveller_id: int, contact_id: int | None = None) -> str:
    """A link's token; with `contact_id`, the link of that emergency contact, who answers
    about the traveller (and is recorded as having done so)."""
    return _serializer().dumps([incident_id, traveller_id] + ([contact_id] if contact_id is not None else []))


def read_link(token: str) -> tuple[int, int, int | None]:
    """(incident id, traveller id, emergency contact id or None) of a valid link."""
    try:
        payload = _serializer().loads(token, max_age=current_app.config["SAFETY_LINK_MAX_AGE"])
    except SignatureExpired:
        raise LinkExpired() from None
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalid() from None
    if not isinstance(payload, list) or len(payload) not in (2, 3):
        raise LinkInvalid()
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in payload):
        raise LinkInvalid()
    return payload[0], payload[1], payload[2] if len(payload) == 3 else None


def read_token(token: str) -> tuple[int, int]:
    incident_id, traveller_id, _contact_id = read_link(token)
    return incident_id, traveller_id


def response_urls(incident_id: int, traveller_id: int, contact_id: int | None = None) -> dict[str, str]:
    base = current_app.config["PUBLIC_BASE_URL"]
    token = make_token(incident_id, traveller_id, contact_id)
    return {
        "safe_url": f"{base}/r/{token}/safe",
        "help_url": f"{base}/r/{token}/help",
        "page_url": f"{base}/r/{token}",
    }
