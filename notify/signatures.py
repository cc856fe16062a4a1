"""Provider webhook signatures, checked with the providers' own SDK code.

Both helpers answer True or False and never raise: a webhook endpoint receives whatever
the internet sends, and a malformed header must be a plain "unsigned" (403), not a 500.
"""
from __future__ import annotations

import logging
from typing import Mapping

log = logging.getLogger(__name__)


def twilio_signature_valid(auth_token: str, url: str, params: Mapping, signature: str | None,
                           settings_header: str | None = None) -> bool:
    """True if `signature` (X-Twilio-Signature) signs `url` + `params` with `auth_token`.

    Pass `params` as received (Flask's `request.form` MultiDict keeps repeated fields),
    and `settings_header` = X-Twilio-Webhooks-Signature-Settings when present (it names
    the HMAC algorithm; absent means HMAC-SHA1).

    `url` must be the public URL Twilio called (behind a TLS proxy: the configured public
    base URL + path + query), not the URL the app sees (twilio-python#751).
    """
    if not (auth_token and url and signature):
        return False
    try:
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(auth_token)
        params = params if params is not None else {}
        if settings_header:  # twilio >= 9.13 signs with a named algorithm
            from twilio.request_validator import get_signature_algorithm

            algorithm = get_signature_algorithm(settings_header)
            return bool(validator.validate(url, params, signature, algorithm=algorithm))
        return bool(validator.validate(url, params, signature))
    except Exception:  # garbage in any argument means "not signed by Twilio"
        log.debug("Twilio signature check failed on malformed input", exc_info=True)
        return False


def sendgrid_signature_valid(public_key: str, raw_body: str | bytes, signature: str | None,
                             timestamp: str | None) -> bool:
    """True if SendGrid's ECDSA `signature` signs `timestamp` + the raw request body.

    `public_key` is the verification key from SendGrid's Mail Settings (base64 DER, no PEM
    armour). Pass the body exactly as received, never re-serialised JSON.
    """
    if not (public_key and signature and timestamp) or raw_body is None:
        return False
    try:
        from sendgrid.helpers.eventwebhook import EventWebhook

        if isinstance(raw_body, bytes):
            raw_body = raw_body.decode("utf-8")
        return bool(EventWebhook(public_key).verify_signature(raw_body, signature, timestamp))
    except Exception:  # bad key, bad base64, bad DER, wrong types: not a valid signature
        log.debug("SendGrid signature check failed on malformed input", exc_info=True)
        return False
