"""Choose the providers from configuration: real ones when keys are set, else the outbox.

Keys are those of emergency/core/config.py. A half-configured provider (a Twilio account
without a sender) is an error, not a silent fall-back to the outbox: in a crisis an
operator must never believe messages left when they did not.
"""
from __future__ import annotations

from typing import Callable, Mapping

from sqlalchemy.orm import Session

from common.i18n import N_

from ..errors import NotifyError
from .base import EmailProvider, SmsProvider
from .outbox import OutboxEmail, OutboxSms

TWILIO_STATUS_PATH = "/webhooks/twilio/status"


def build_providers(config: Mapping, session_factory: Callable[[], Session],
                    redis=None) -> tuple[EmailProvider, SmsProvider]:
    """(email provider, SMS provider) for `config`.

    `SENDGRID_RPS` / `TWILIO_MPS` cap requests (messages) per second; with a `redis`
    client the cap is shared by every worker using that Redis, else it is per process.
    `PROVIDER_TIMEOUT` (seconds) bounds each provider call.
    """
    from ..throttle import limiter_for

    email: EmailProvider
    sms: SmsProvider
    timeout = float(config.get("PROVIDER_TIMEOUT") or 30)
    if config.get("SENDGRID_API_KEY"):
        from .sendgrid_provider import SendGridEmail

        email = SendGridEmail(
            config["SENDGRID_API_KEY"],
            host=config.get("SENDGRID_API_BASE_URL") or "https://api.sendgrid.com",
            from_email=config.get("SENDGRID_FROM") or "alerts@consular.example",
            from_name=config.get("SENDGRID_FROM_NAME") or None,
            sandbox=bool(config.get("SENDGRID_SANDBOX")),
            timeout=timeout,
            limiter=limiter_for(config.get("SENDGRID_RPS"), redis=redis, key="sendgrid"),
        )
    else:
        email = OutboxEmail(session_factory)

    if config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"):
        from .twilio_provider import TwilioSms

        if not (config.get("TWILIO_FROM") or config.get("TWILIO_MESSAGING_SERVICE_SID")):
            raise NotifyError(N_("Twilio is configured without a sender: set TWILIO_FROM "
                                 "or TWILIO_MESSAGING_SERVICE_SID."))
        base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        sms = TwilioSms(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            from_number=config.get("TWILIO_FROM") or None,
            messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            base_url=config.get("TWILIO_API_BASE_URL") or None,
            status_callback=(base + TWILIO_STATUS_PATH) if base else None,
            validity_period=config.get("TWILIO_VALIDITY_PERIOD") or None,
            timeout=timeout,
            limiter=limiter_for(config.get("TWILIO_MPS"), redis=redis, key="twilio",
                                burst=float(config.get("TWILIO_BURST") or 1)),
        )
    else:
        sms = OutboxSms(session_factory)
    return email, sms
