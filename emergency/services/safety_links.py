"""Signed, expiring links that let a traveller answer a safety check in one click.

The token names the incident, the traveller and, in links we email, the delivery (the
message) that carried them, so an answer given through the link names the message it came
from; it holds nothing else. It is signed with the app's SECRET_KEY (itsdangerous) and
expires after SAFETY_LINK_MAX_AGE seconds. Tokens made before deliveries were named
([incident, traveller]) are still read, as links without a message.
"""
from __future__ import annotations

from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "safety-check-v1"


class LinkInvalid(Exception):
    """The link was altered or is not ours."""


class LinkExpired(Exception):
    """The link was ours but is too old."""


class LinkTarget(NamedTuple):
    incident_id: int
    traveller_id: int
    delivery_id: int | None = None

    @property
    def source_message(self) -> str | None:
        """What an answer through this link came from (SafetyResponse.source_message)."""
        return f"delivery:{self.delivery_id}" if self.delivery_id is not None else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(incident_id: int, traveller_id: int, delivery_id: int | None = None) -> str:
    payload = [incident_id, traveller_id] if delivery_id is None else [incident_id, traveller_id, delivery_id]
    return _serializer().dumps(payload)


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_token(token: str) -> LinkTarget:
    try:
        payload = _serializer().loads(token, max_age=current_app.config["SAFETY_LINK_MAX_AGE"])
    except SignatureExpired:
        raise LinkExpired() from None
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalid() from None
    if not isinstance(payload, list) or len(payload) not in (2, 3) or not all(_is_id(v) for v in payload):
        raise LinkInvalid()
    return LinkTarget(*payload)


def response_urls(incident_id: int, traveller_id: int, delivery_id: int | None = None) -> dict[str, str]:
    base = current_app.config["PUBLIC_BASE_URL"]
    token = make_token(incident_id, traveller_id, delivery_id)
    return {
        "safe_url": f"{base}/r/{token}/safe",
        "help_url": f"{base}/r/{token}/help",
        "page_url": f"{base}/r/{token}",
    }
