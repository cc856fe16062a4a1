"""Signed, expiring links that let a traveller answer a safety check in one click.

The token names the incident, the traveller and, in links we email, the delivery (the
message) that carried them, so an answer given through the link names the message it came
from; in a message to a traveller's emergency contact it also names that contact, who
answers about the traveller and is recorded as having done so. It holds nothing else. It is
signed with the app's SECRET_KEY (itsdangerous) and expires after SAFETY_LINK_MAX_AGE
seconds. Tokens made before deliveries were named ([incident, traveller]) are still read, as
links without a message.

The payload is `[incident, traveller]`, `[incident, traveller, delivery]` or
`[incident, traveller, delivery or null, contact]`.
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
    contact_id: int | None = None  # the emergency contact the link was sent to

    @property
    def source_message(self) -> str | None:
        """What an answer through this link came from (SafetyResponse.source_message)."""
        return f"delivery:{self.delivery_id}" if self.delivery_id is not None else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(incident_id: int, traveller_id: int, delivery_id: int | None = None,
               contact_id: int | None = None) -> str:
    payload: list = [incident_id, traveller_id]
    if delivery_id is not None or contact_id is not None:
        payload.append(delivery_id)
    if contact_id is not None:
        payload.append(contact_id)
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
    if not isinstance(payload, list) or len(payload) not in (2, 3, 4):
        raise LinkInvalid()
    required = payload[:2] + payload[3:]  # the delivery may be null when a contact is named
    if not all(_is_id(v) for v in required) or not (len(payload) < 3 or payload[2] is None and len(payload) == 4
                                                    or _is_id(payload[2])):
        raise LinkInvalid()
    return LinkTarget(*payload)


def response_urls(incident_id: int, traveller_id: int, delivery_id: int | None = None,
                  contact_id: int | None = None) -> dict[str, str]:
    base = current_app.config["PUBLIC_BASE_URL"]
    token = make_token(incident_id, traveller_id, delivery_id, contact_id)
    return {
        "safe_url": f"{base}/r/{token}/safe",
        "help_url": f"{base}/r/{token}/help",
        "page_url": f"{base}/r/{token}",
    }
