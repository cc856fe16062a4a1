"""The job that sends a check-in code to the registered traveller a check-in named.

It takes the report id, makes the code inside the job (so no usable code ever sits in the
job queue), stores its HMAC, commits, then sends it through the configured provider:
Twilio for SMS, SendGrid for email, or the outbox. A retried job makes a new code, which
replaces the one that may not have arrived. Personal data never goes in the job id.
Callers commit the report first, then queue.
"""
from __future__ import annotations

from flask import current_app

from emergency.core.database import db_session
from emergency.core.models import CheckinReport
from emergency.jobs.providers import providers
from emergency.jobs.runner import enqueue, job
from emergency.services.checkin_codes import issue_code
from emergency.services.checkin_messages import email_batch, sms_body
from notify.providers.base import SendResult, SmsMessage
from registry.models import Traveller


class CodeNotSent(RuntimeError):
    """The provider refused for a reason worth retrying; the job runner tries again."""


def _check(report_id: int, result: SendResult) -> None:
    if not result.ok and result.retryable:
        raise CodeNotSent(result.error or "retryable provider failure")
    if not result.ok:
        current_app.logger.warning("check-in code for report %s refused: %s", report_id, result.error)


@job
def send_checkin_code(report_id: int) -> None:
    session = db_session()
    report = session.get(CheckinReport, report_id)
    if report is None or not report.matched or report.verified_at is not None:
        return
    traveller = session.get(Traveller, report.traveller_id)
    language = traveller.language if traveller is not None else report.language
    code = issue_code(report)
    session.commit()
    email, sms = providers()
    if report.contact_channel == "sms":
        _check(report_id, sms.send(SmsMessage(None, report.contact, sms_body(code, language))))
    else:
        for result in email.send_batch(email_batch(code, language, report.contact)):
            _check(report_id, result)


def queue_checkin_code(report_id: int) -> bool:
    # The "alerts" queue: the person is waiting on the check-in page for this code, in a crisis.
    return enqueue(send_checkin_code, report_id, job_id=f"checkin-code-{report_id}", queue="alerts")
