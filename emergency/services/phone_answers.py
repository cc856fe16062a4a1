"""An answer a traveller gave an officer by phone: a safety answer like any other (it counts
on the dashboard and, when it is "need help", opens or reopens the case through
`responses.record_response`), and a line in the case saying which officer took it.

It settles nothing by itself: "safe" on the phone leaves the case as it is, for the officer
to resolve when they judge it done. Kept apart from `cases` because it stands on
`responses`, which stands on `cases`.
"""
from __future__ import annotations

from sqlalchemy import select

from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import RESPONSE_STATUSES, Case, CaseEvent, User
from emergency.services.cases import PHONE, CaseError, clean_note, officer_actor
from emergency.services.responses import record_response


def record_phone_answer(case: Case, status: str, message: str | None, user: User | None,
                        commit: bool = True) -> bool:
    """Record `status` ("safe" or "need_help") as the traveller's answer, given by phone to
    `user`. Returns False when it adds nothing (the same answer, no message, is already the
    traveller's latest). Commits unless told not to."""
    if status not in RESPONSE_STATUSES:
        raise CaseError(N_("Choose the answer the traveller gave: safe or needs help."), field="status")
    message = clean_note(message)
    session = db_session()
    response, added = record_response(case.incident_id, case.traveller_id, status, PHONE,
                                      message=message, commit=False, reported_by="officer",
                                      reporter_name=(user.name or user.email) if user else None)
    if not added:
        session.rollback()
        return False
    # A "need help" has already written its line through the case hook: sign it.
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                   CaseEvent.response_id == response.id))
    if event is None:
        event = CaseEvent(kind="answer", source=PHONE, response_id=response.id, note=message)
        case.events.append(event)
    event.user_id = user.id if user else None
    case.updated_at = response.received_at
    session.flush()
    audit.record("case.phone_answer", "case", case.id, actor=officer_actor(user), incident_id=case.incident_id,
                 traveller_id=case.traveller_id, status=status, event_id=event.id)
    if commit:
        session.commit()
    return True
