"""Jobs that email one traveller about their own record, and the calls that queue them.

Each job (queue "default", deterministic job id) takes the traveller's id, reloads them and
sends one `EmailBatch` of one recipient through the configured email provider (SendGrid, or
the outbox). A traveller without an email address gets nothing. Sign-in tokens are made
inside the job, so no usable link ever sits in the job queue. Personal data never goes in
job ids. Callers commit first, then queue.
"""
from __future__ import annotations

import time

from flask import current_app

from emergency.core.database import db_session
from emergency.jobs.providers import providers
from emergency.jobs.runner import enqueue, job
from emergency.services.signin import issue_token, signin_url
from emergency.services.traveller_mail import render_message
from notify.providers.base import EmailBatch
from registry.models import Traveller


class MailNotSent(RuntimeError):
    """The provider refused for a reason worth retrying; the job runner tries again."""



def _send(traveller: Traveller, batch: EmailBatch) -> None:
    email_provider, _sms = providers()
    for result in email_provider.send_batch(batch):
        if not result.ok and result.retryable:
            raise MailNotSent(result.error or "retryable provider failure")
        if not result.ok:
            current_app.logger.warning("traveller email %s refused: %s", traveller.id, result.error)


def _load(traveller_id: int) -> Traveller | None:
    traveller = db_session().get(Traveller, traveller_id)
    return traveller if traveller is not None and traveller.email else None



@job
def send_registration_confirmation(traveller_id: int) -> None:
    traveller = _load(traveller_id)
    if traveller is not None:
        _send(traveller, render_message(traveller, "registered"))


@job
def send_signin_link(traveller_id: int, kind: str = "signin") -> None:
    """A fresh single-use sign-in link (`kind` "signin" or "already_registered")."""
    traveller = _load(traveller_id)
    if traveller is None:
        return
    token = issue_token(traveller.id)
    db_session().commit()
    _send(traveller, render_message(traveller, kind, link=signin_url(token)))


@job
def send_changes_confirmation(traveller_id: int, change: str) -> None:
    traveller = _load(traveller_id)
    if traveller is not None:
        _send(traveller, render_message(traveller, "changed", change=change))


# --- queueing (callers commit first) ----------------------------------------------------

def _minute() -> int:
    return int(time.time() // 60)


def queue_registration_confirmation(traveller_id: int) -> bool:
    return enqueue(send_registration_confirmation, traveller_id,
                   job_id=f"traveller-registered-{traveller_id}", queue="default")


def queue_signin_link(traveller_id: int, kind: str = "signin") -> bool:
    """At most one link per traveller and kind per minute, however often the form is posted."""
    return enqueue(send_signin_link, traveller_id, kind,
                   job_id=f"traveller-{kind}-{traveller_id}-{_minute()}", queue="default")


def queue_changes_confirmation(traveller_id: int, change: str) -> bool:
    return enqueue(send_changes_confirmation, traveller_id, change,
                   job_id=f"traveller-changed-{traveller_id}-{change}-{_minute()}", queue="default")
