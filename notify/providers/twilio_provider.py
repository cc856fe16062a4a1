"""SMS through Twilio's Messages API with the official `twilio` SDK.

`base_url` points the SDK at any compatible server (a regional edge, a proxy, the local
fake in devtools) by replacing the Api domain's base URL, which every Messages request
is built from (twilio 9.x). Outcome: 429 / 20429 / 5xx and network failures are
retryable (the sync client never retries by itself); everything else Twilio refuses —
21610 opted out, 21211 invalid number, 21614 not a mobile... — fails for good.
"""
from __future__ import annotations

import logging

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .base import SendResult, SmsMessage

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset({20429, 20500, 20503, 30001})
OPTED_OUT, INVALID_NUMBER = 21610, 21211


def is_retryable(status: int | None, code: int | None) -> bool:
    """Whether Twilio's answer is a temporary failure worth trying again later."""
    if code in (OPTED_OUT, INVALID_NUMBER):
        return False
    return code in RETRYABLE_CODES or status == 429 or (status or 0) >= 500


class TwilioSms:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, base_url: str | None = None,
                 status_callback: str | None = None, validity_period: int | None = None,
                 timeout: float = 30):
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a sender: from_number or messaging_service_sid")
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        if base_url:
            self.client.api.base_url = base_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self.validity_period = validity_period

    def send(self, message: SmsMessage) -> SendResult:
        kwargs: dict = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        if self.validity_period:
            kwargs["validity_period"] = self.validity_period
        try:
            created = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            error = f"Twilio {exc.status} {exc.code or ''}: {exc.msg}".replace("  ", " ")
            retryable = is_retryable(exc.status, exc.code)
            log.warning("Twilio refused delivery %s: %s", message.delivery_id, error)
            return SendResult(message.delivery_id, False, None, error, retryable)
        except (requests.RequestException, TwilioException, OSError) as exc:
            # No answer (or an unreadable one): the message may not exist; try again later.
            log.warning("Twilio unreachable for delivery %s: %s", message.delivery_id, exc)
            return SendResult(message.delivery_id, False, None, f"Twilio unreachable: {exc}", True)
        return SendResult(message.delivery_id, True, created.sid, None, False)
