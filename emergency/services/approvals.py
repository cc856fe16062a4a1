"""Asking for a second person's approval: the one function every path calls when it leaves an
alert as a draft because of its size (composing a mass alert, a follow-up round too large to
go out by itself), so the audit entry and the on-call approvers' messages are wired once."""
from __future__ import annotations

from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import Alert, AuditEntry
from emergency.jobs.staff_notifications import queue_notify


def request_approval(alert: Alert, recipients: int) -> AuditEntry:
    """Ask for a second person's approval of `alert`, which reaches `recipients` people:
    audited, committed, then the on-call approvers other than its author are told (the
    on-call coordinators when no approver is on call). Each call is a new request, told
    again: a follow-up round asks anew."""
    details = {"incident_id": alert.incident_id, "recipients": int(recipients)}
    if alert.followup_of is not None:
        details.update(kind=alert.kind, round=alert.round)
    entry = audit.record("alert.approval_requested", "alert", alert.id, **details)
    session = db_session()
    session.flush()
    session.commit()
    queue_notify("approval_requested", alert.id, entry.id)
    return entry
