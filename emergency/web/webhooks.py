"""Provider webhooks: Twilio inbound SMS and status callbacks, SendGrid events.

Each request is verified by its provider's signature (Twilio against the URL Twilio called:
PUBLIC_BASE_URL's, or behind TRUSTED_PROXIES the public URL the proxy forwarded, never the
internal one), stored before it is acknowledged, and idempotent on the provider's id,
because providers retry and deliver duplicates.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from emergency.core.database import db_session
from emergency.services.fallback import handle_bad_address
from emergency.services.inbound_sms import process_inbound_sms
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


def _reject(status: int, message: str):
    return jsonify(error="rejected", message=message), status


@bp.post("/twilio/sms")
def twilio_inbound():
    if not _twilio_verified():
        return _reject(403, _("This request is not signed by our SMS provider."))
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    sender = request.form.get("From")
    if not sid or not sender or "Body" not in request.form:
        return _reject(400, _("This request is missing MessageSid, From or Body."))
    reply = process_inbound_sms(sender, request.form.get("To"), request.form.get("Body", ""), sid)
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
    session = db_session()
    session.add(ProviderEvent(provider="twilio", event_id=f"{sid}:{status}"))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return "", 204
    # `d` is our delivery id, put in the (signed) callback URL when the message was sent:
    # it names the delivery even if the worker died before recording Twilio's sid.
    delivery_id = request.args.get("d", "")
    error = request.form.get("ErrorCode")
    changed = apply_event(session, sid, status, f"Twilio {status} {error}" if error else None,
                          delivery_id=int(delivery_id) if delivery_id.isdigit() else None)
    session.commit()
    if changed is not None and changed.status == "failed":
        handle_bad_address(changed, status, f"Twilio {error}" if error else status)
    return "", 204


@bp.post("/sendgrid/events")
def sendgrid_events():
    key = current_app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"]
    raw = request.get_data(as_text=True)
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    if not key or not sendgrid_signature_valid(key, raw, signature, timestamp):
        return _reject(403, _("This request is not signed by our email provider."))
    try:
        events = json.loads(raw)
    except ValueError:
        return _reject(400, _("The request body is not valid JSON."))
    if not isinstance(events, list):
        return _reject(400, _("Expected a list of events."))
    session = db_session()
    applied = 0
    for event in events:
        if not isinstance(event, dict) or not event.get("sg_event_id") or not event.get("event"):
            continue
        session.add(ProviderEvent(provider="sendgrid", event_id=str(event["sg_event_id"])))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            continue
        message_id = str(event.get("sg_message_id", "")).split(".")[0]
        delivery_id = event.get("delivery_id")
        changed = apply_event(session, message_id or None, event["event"], event.get("reason"),
                              delivery_id=int(delivery_id) if str(delivery_id or "").isdigit() else None)
        session.commit()
        applied += 1
        if changed is not None and changed.status == "failed":
                handle_bad_address(changed, event["event"], event.get("reason"))
    return jsonify(applied=applied), 200
