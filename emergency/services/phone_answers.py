"""An answer a traveller, or someone in their household, gave an officer (by phone, or
recorded in the console): a safety answer like any other (it counts on the dashboard and,
when it is "need help", opens or reopens the traveller's case through
`responses.record_response`), and a line in the case, if there is one, saying which officer
took it and for whom.

It settles nothing by itself: "safe" on the phone leaves the case as it is, for the officer
to resolve when they judge it done. Kept apart from `cases` because it stands on
`responses`, which stands on `cases`.
"""
from __future__ import annotations

from sqlalchemy import select

from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import RESPONSE_STATUSES, Case, CaseEvent, SafetyResponse, User
from emergency.services import households
from emergency.services.cases import PHONE, CaseError, case_for, clean_note, officer_actor
from emergency.services.responses import record_response

CONSOLE = "console"  # the channel of an answer an officer enters on the incident page or the API


def record_officer_answer(incident_id: int, traveller_id: int, status: str, message: str | None,
                          user: User | None, companion_id=None, channel: str = PHONE,
                          commit: bool = True) -> tuple[SafetyResponse | None, bool]:
    """Record `status` ("safe" or "need_help") for the traveller, or for the companion
    `companion_id` on their registration, as an answer taken by `user`. Returns (the answer,
    whether it was new); (None, False) when it adds nothing (the same answer, no message, is
    already the latest given for that person). Refuses (CaseError) an unknown status, or a
    companion who is not on this traveller's registration, and then records nothing."""
    if status not in RESPONSE_STATUSES:
        raise CaseError(N_("Choose the answer the traveller gave: safe or needs help."), field="status")
    if companion_id is not None and households.companion_of(traveller_id, companion_id) is None:
        raise CaseError(N_("Choose someone on this traveller's registration."), field="companion_id")
    message = clean_note(message)
    session = db_session()
    response, added = record_response(incident_id, traveller_id, status, channel,
                                      message=message, commit=False, reported_by="officer",
                                      reporter_name=(user.name or user.email) if user else None,
                                      companion_id=companion_id)
    if not added:
        session.rollback()
        return None, False
    case = case_for(incident_id, traveller_id)
    if case is not None:
        # A "need help" has already written its line through the case hook: sign it.
        event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.response_id == response.id))
        if event is None:
            event = CaseEvent(kind="answer", source=channel, response_id=response.id, note=message)
            case.events.append(event)
        event.user_id = user.id if user else None
        case.updated_at = response.received_at
        session.flush()
        audit.record("case.phone_answer" if channel == PHONE else "case.officer_answer", "case", case.id,
                     actor=officer_actor(user), incident_id=incident_id, traveller_id=traveller_id,
                     companion_id=companion_id, status=status, event_id=event.id)
    if commit:
        session.commit()
    return response, True


def record_phone_answer(case: Case, status: str, message: str | None, user: User | None,
                        commit: bool = True, companion_id=None) -> bool:
    """Record `status` as the answer the traveller (or, with `companion_id`, a companion on
    their registration) gave `user` by phone. Returns False when it adds nothing. Commits
    unless told not to."""
    _response, added = record_officer_answer(case.incident_id, case.traveller_id, status, message, user,
                                             companion_id=companion_id, channel=PHONE, commit=commit)
    return added
