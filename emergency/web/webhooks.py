"""Provider webhooks: Twilio inbound SMS and status callbacks, SendGrid events.

Each request is verified by its provider's signature (Twilio against the URL Twilio called:
PUBLIC_BASE_URL's, or behind TRUSTED_PROXIES the public URL the proxy forwarded, never the
internal one), stored before it is acknowledged, and idempotent on the provider's id,
because providers retry and deliver duplicates.

A signed request is still checked field by field before anything is stored: ids must be
what the provider sends (bounded text; our delivery ids as ASCII digits in range), and a
SendGrid batch whose events are not objects of strings is refused whole, so that nothing
half-applied is retried. A SendGrid request signed longer ago than
SENDGRID_WEBHOOK_MAX_AGE_SECONDS (or dated in the future beyond clock skew) is refused: a captured request
cannot be replayed later. Refusals are 4xx in the API's error shape.
"""
from __future__ import annotations

import logging
import re
import time

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from emergency.core.database import db_session
from emergency.core.inputs import whole_number
from emergency.services.fallback import handle_bad_address
from emergency.services.inbound_sms import process_inbound_sms
from emergency.web.api.errors import error_response
from notify.delivery import apply_event
from notify.models import ProviderEvent
from notify.segments import gsm_safe
from notify.signatures import sendgrid_signature_valid, twilio_signature_valid

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


def _twilio_verified() -> bool:
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    urls = [current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")]
    if current_app.config.get("TRUSTED_PROXIES"):
        urls.append(request.url.rstrip("?"))  # scheme, host and prefix as the proxy received them
    form = request.form.to_dict()
    return any(twilio_signature_valid(token, url, form, signature) for url in dict.fromkeys(urls))


# Twilio's SIDs are 34 letters and digits (the outbox's "outbox-<n>"); statuses and error codes are short words and numbers.
_TWILIO_SID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")  # Delivery.provider_message_id
_TWILIO_STATUS = re.compile(r"[a-z_-]{1,30}")
_PHONE_FIELD_MAX = 32  # InboundMessage.from_number / to_number
_SENDGRID_ID_MAX = 200  # ProviderEvent.event_id
CLOCK_SKEW_SECONDS = 300
_SENDGRID_TEXT_FIELDS = ("sg_event_id", "event", "sg_message_id", "reason", "delivery_id")


def _reject(status: int, message: str):
    return error_response(status, "forbidden" if status == 403 else "invalid", message)


def _odd_fields():
    return _reject(400, _("This request has fields that our providers never send."))


def _delivery_id(text: str | None) -> tuple[bool, int | None]:
    """(acceptable, our delivery id): absent or empty is acceptable and names nothing."""
    if text in (None, ""):
        return True, None
    number = whole_number(text, minimum=1)
    return number is not None, number


@bp.post("/twilio/sms")
def twilio_inbound():
    if not _twilio_verified():
        return _reject(403, _("This request is not signed by our SMS provider."))
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    sender = request.form.get("From")
    if not sid or not sender or "Body" not in request.form:
        return _reject(400, _("This request is missing MessageSid, From or Body."))
    to = request.form.get("To")
    if not _TWILIO_SID.fullmatch(sid) or len(sender) > _PHONE_FIELD_MAX or len(to or "") > _PHONE_FIELD_MAX:
        return _odd_fields()
    reply = process_inbound_sms(sender, to, request.form.get("Body", ""), sid)
    twiml = MessagingResponse()
    twiml.message(gsm_safe(reply))  # "vous etes" costs one segment; "vous êtes" turns the reply into UCS-2
    return Response(str(twiml), mimetype="application/xml")


@bp.post("/twilio/status")
def twilio_status():
    if not _twilio_verified():
        return _reject(403, _("This request is not signed by our SMS provider."))
    sid = request.form.get("MessageSid")
    status = request.form.get("MessageStatus")
    if not sid or not status:
        return _reject(400, _("This request is missing MessageSid or MessageStatus."))
    # `d` is our delivery id, put in the (signed) callback URL when the message was sent:
    # it names the delivery even if the worker died before recording Twilio's sid.
    id_ok, delivery_id = _delivery_id(request.args.get("d"))
    error = request.form.get("ErrorCode", "")
    if not (id_ok and _TWILIO_SID.fullmatch(sid) and _TWILIO_STATUS.fullmatch(status)
            and (not error or whole_number(error) is not None)):
        return _odd_fields()
    session = db_session()
    session.add(ProviderEvent(provider="twilio", event_id=f"{sid}:{status}"))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return "", 204
    changed = apply_event(session, sid, status, f"Twilio {status} {error}" if error else None,
                          delivery_id=delivery_id)
    session.commit()
    if changed is not None and changed.status == "failed":
        handle_bad_address(changed, status, f"Twilio {error}" if error else status)
    return "", 204


def _sendgrid_fresh(timestamp: str) -> bool:
    """The signed timestamp (Unix seconds) is at most SENDGRID_WEBHOOK_MAX_AGE_SECONDS old,
    and at most CLOCK_SKEW_SECONDS ahead of our clock."""
    sent = whole_number(timestamp, maximum=2**40)
    if sent is None:
        return False
    age = time.time() - sent
    return -CLOCK_SKEW_SECONDS <= age <= current_app.config["SENDGRID_WEBHOOK_MAX_AGE_SECONDS"]


def _sendgrid_events(events: list) -> list[dict] | None:
    """The events to apply (those naming an event id and a type), or None when any event is
    not an object or has a field of ours that is not text of the expected form."""
    usable = []
    for event in events:
        if not isinstance(event, dict):
            return None
        for name in _SENDGRID_TEXT_FIELDS:
            if event.get(name) is not None and not isinstance(event[name], str):
                return None
        if len(event.get("sg_event_id") or "") > _SENDGRID_ID_MAX or not _delivery_id(event.get("delivery_id"))[0]:
            return None
        if event.get("sg_event_id") and event.get("event"):
            usable.append(event)
    return usable


@bp.post("/sendgrid/events")
def sendgrid_events():
    key = current_app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"]
    raw = request.get_data(as_text=True)
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    if not key or not sendgrid_signature_valid(key, raw, signature, timestamp):
        return _reject(403, _("This request is not signed by our email provider."))
    if not _sendgrid_fresh(timestamp):
        return _reject(403, _("This request was signed too long ago."))
    try:
        events = current_app.json.loads(raw)
    except ValueError:
        return _reject(400, _("The request body is not valid JSON."))
    if not isinstance(events, list):
        return _reject(400, _("Expected a list of events."))
    events = _sendgrid_events(events)
    if events is None:
        return _odd_fields()
    session = db_session()
    applied = 0
    for event in events:
        session.add(ProviderEvent(provider="sendgrid", event_id=event["sg_event_id"]))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            continue
        message_id = (event.get("sg_message_id") or "").split(".")[0]
        changed = apply_event(session, message_id or None, event["event"], event.get("reason"),
                              delivery_id=_delivery_id(event.get("delivery_id"))[1])
        session.commit()
        applied += 1
        if changed is not None and changed.status == "failed":
            handle_bad_address(changed, event["event"], event.get("reason"))
    return jsonify(applied=applied), 200
