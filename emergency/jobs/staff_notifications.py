"""The job that tells on-call officers about an event (a case opened or reopened, an approval
requested), and the call that queues it.

`notify(kind, object_id, event_id)` loads the event, writes a row per on-call reader and
channel, then sends each row it can claim through the configured providers (SendGrid and
Twilio, or the outbox). Rows are the truth: a job run twice, or by two workers, sends each
row once. A temporary provider failure leaves the row pending and fails the job, so the
runner tries again (RETRY_INTERVALS); the row is marked failed, with the provider's error,
after its last attempt.

The job uses a session of its own, because in the embedded sync mode it runs inside its
caller's commit (`core.database.after_commit`), when the caller's session can emit no SQL.
Callers commit first, then queue; ids only in the job's arguments and id.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from emergency.jobs.providers import providers
from emergency.jobs.runner import RETRY_INTERVALS, enqueue, job
from emergency.services import staff_notifications as service

log = logging.getLogger(__name__)


class NotificationsPending(RuntimeError):
    """Some messages met a temporary provider failure; the job runner tries again."""


def max_attempts() -> int:
    """Sends of one message before it is given up: as many as the runner runs the job, and
    never more than DELIVERY_MAX_ATTEMPTS."""
    return max(1, min(current_app.config["DELIVERY_MAX_ATTEMPTS"], len(RETRY_INTERVALS) + 1))


@job
def notify(kind: str, object_id: int, event_id: int) -> int:
    """Tell the on-call readers of this event; returns how many messages this run sent."""
    session = current_app.extensions["db_session"].session_factory()
    stale_after = timedelta(seconds=current_app.config["DELIVERY_STALE_SECONDS"])
    sent, still_waiting = 0, 0
    try:
        event = service.load_event(session, kind, object_id, event_id)
        if event is None:
            return 0
        service.create_rows(session, event, service.readers(session, event))
        session.commit()
        email, sms = providers()
        for row_id in service.waiting(session, event, stale_after):
            row = service.claim(session, row_id, stale_after)
            if row is None:
                continue
            message = service.message_for(event, row)
            result = sms.send(message) if row.channel == "sms" else email.send_batch(message)[0]
            if service.record(session, row, result, max_attempts()):
                still_waiting += 1
            elif result.ok:
                sent += 1
            else:
                log.warning("%s %s to user %s failed: %s", kind, row.channel, row.user_id, result.error)
    finally:
        session.close()
    if still_waiting:
        raise NotificationsPending(f"{still_waiting} message(s) about {kind} {object_id} wait for a retry")
    return sent


def job_id(kind: str, object_id: int, event_id: int) -> str:
    return f"staff-{kind}-{object_id}-{event_id}"


def queue_notify(kind: str, object_id: int, event_id: int) -> bool:
    """Queue the job (the caller has committed the event). Never raises: what it is about is
    committed already, and a request must not fail because a page could not be queued."""
    try:
        # The "alerts" queue: someone is waiting for help, or an alert waits for approval.
        return enqueue(notify, kind, object_id, event_id, job_id=job_id(kind, object_id, event_id), queue="alerts")
    except Exception:
        log.exception("could not queue the on-call notification %s", job_id(kind, object_id, event_id))
        return False
