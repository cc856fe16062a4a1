"""The job that sends the code proving a traveller holds the new email or phone number they
asked for (`services.contact_changes`). Like check-in codes, the code is made inside the job
(no usable code sits in the queue), its HMAC stored and committed before it is sent; a
retried job makes a new code. Personal data never goes in the job id."""
from __future__ import annotations

from flask import current_app

from emergency.core.database import db_session
from emergency.core.models import ContactChange
from emergency.jobs.providers import providers
from emergency.jobs.runner import enqueue, job
from emergency.services.contact_changes import email_batch, issue_code, sms_body
from notify.providers.base import SendResult, SmsMessage
from registry.models import Traveller


class CodeNotSent(RuntimeError):
    """The provider refused for a reason worth retrying; the job runner tries again."""


def _check(change_id: int, result: SendResult) -> None:
    if not result.ok and result.retryable:
        raise CodeNotSent(result.error or "retryable provider failure")
    if not result.ok:
        current_app.logger.warning("contact code for change %s refused: %s", change_id, result.error)


@job
def send_contact_code(change_id: int) -> None:
    session = db_session()
    change = session.get(ContactChange, change_id)
    if change is None:
        return
    traveller = session.get(Traveller, change.traveller_id)
    language = traveller.language if traveller is not None else "en"
    code = issue_code(change)
    to, channel = change.value, ("email" if change.field == "email" else "sms")
    session.commit()
    email, sms = providers()
    if channel == "sms":
        _check(change_id, sms.send(SmsMessage(None, to, sms_body(code, language))))
    else:
        for result in email.send_batch(email_batch(code, language, to)):
            _check(change_id, result)


def queue_contact_code(change_id: int, attempt: str) -> bool:
    # `attempt` tells one request from the next, so asking again sends a new code.
    return enqueue(send_contact_code, change_id, job_id=f"contact-code-{change_id}-{attempt}", queue="default")
