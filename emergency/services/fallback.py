"""When a provider says an address is bad, try the traveller's other channel.

A bounced email or an undelivered SMS means that traveller has not been warned. The
address is marked bad (notify.contact_health) so no later alert wastes time on it, and,
if the alert has not already gone to that traveller by the other channel, a delivery is
created for it in a new batch and queued at once. create_deliveries is idempotent on
(alert, traveller, channel), so a provider repeating its event creates nothing twice.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from emergency.core.database import db_session
from emergency.core.models import AlertRecipient
from emergency.jobs.runner import enqueue
from notify import contact_health
from notify.delivery import create_deliveries
from notify.models import Delivery, SmsOptOut

log = logging.getLogger(__name__)

OTHER = {"email": "sms", "sms": "email"}


def _sms_opted_out(session, phone: str) -> bool:
    return bool(session.scalar(select(SmsOptOut.opted_out).where(SmsOptOut.phone == phone)))


def handle_bad_address(delivery: Delivery, status: str, reason: str | None) -> int | None:
    """Mark `delivery`'s address bad if `status` condemns it, and fall back to the other
    channel. Returns the id of the fallback delivery queued, if any. Commits."""
    session = db_session()
    if not contact_health.says_bad(delivery.channel, status):
        return None
    contact_health.mark(session, delivery.channel, delivery.address, "bad", reason or status)
    session.commit()
    return fall_back(delivery)


def fall_back(delivery: Delivery) -> int | None:
    """Queue the alert for the same traveller on the other channel, if not done yet."""
    from emergency.jobs.fanout import deliver_email_batch, deliver_sms_batch
    from emergency.jobs.retries import batch_sizes

    session = db_session()
    other = OTHER.get(delivery.channel)
    if other is None:
        return None
    if session.scalar(select(Delivery.id).where(Delivery.campaign_id == delivery.campaign_id,
                                                Delivery.recipient_id == delivery.recipient_id,
                                                Delivery.channel == other)):
        return None  # already sent (or being sent) that way
    recipient = session.scalar(select(AlertRecipient).where(AlertRecipient.alert_id == delivery.campaign_id,
                                                            AlertRecipient.traveller_id == delivery.recipient_id))
    if recipient is None:
        return None
    address = recipient.email if other == "email" else recipient.phone
    if not address or contact_health.is_bad(session, other, address):
        return None
    if other == "sms" and _sms_opted_out(session, address):
        return None
    sizes = {other: batch_sizes()[other]}
    create_deliveries(session, delivery.campaign_id,
                      [(delivery.recipient_id, other, address, recipient.language)], sizes)
    session.commit()
    created = session.scalar(select(Delivery).where(Delivery.campaign_id == delivery.campaign_id,
                                                    Delivery.recipient_id == delivery.recipient_id,
                                                    Delivery.channel == other))
    if created is None or created.status != "pending":
        return None
    task = deliver_email_batch if other == "email" else deliver_sms_batch
    log.info("alert %s: %s to traveller %s failed; falling back to %s", delivery.campaign_id,
             delivery.channel, delivery.recipient_id, other)
    enqueue(task, delivery.campaign_id, created.batch,
            job_id=f"alert-{delivery.campaign_id}-{other}-{created.batch}", queue="alerts")
    return created.id
