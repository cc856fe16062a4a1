"""Cases: everyone who asks for help gets one, and officers follow it until it is settled.

A "need help" answer, by any channel, opens a case (`open_case_for_help`, called by
`responses.record_response`). There is one case per (incident, traveller): asking again
adds an event to the open case, or reopens it when it was resolved or closed, so nobody's
second call is lost in a new, unassigned row.

Each opening and reopening by a call for help tells the on-call officers
(`jobs.staff_notifications`), once the caller's transaction commits. An officer who reopens
a case is already working on it, so that tells nobody.

Officers act on a case (assign, status, priority, note, contact attempt). Each action
writes a `CaseEvent` (the story the case page tells) and an audit entry (ids and codes
only: a note's text stays in the case). Refusals raise `CaseError` with an English template
the web layer translates, and change nothing.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.database import after_commit, db_session
from emergency.core.models import (
    CASE_PRIORITIES,
    CASE_STATUSES,
    CONTACT_METHODS,
    CONTACT_OUTCOMES,
    OPEN_CASE_STATUSES,
    ROLE_RANK,
    Case,
    CaseEvent,
    User,
)
from emergency.jobs.staff_notifications import queue_notify
from emergency.services.errors import ServiceError

# The channel of an answer an officer took by phone (see `phone_answers`).
PHONE = "phone"
NOTE_MAX = 4000

# Where each status may go. A settled case (resolved, closed) goes back to work only by
# being reopened "in progress"; "new" means nobody has looked yet, which an officer
# reopening it could not say. Travellers reopen to "new" by asking again (not an officer
# action, so not in this table).
TRANSITIONS = {
    "new": ("in_progress", "resolved", "closed"),
    "in_progress": ("resolved", "closed"),
    "resolved": ("in_progress", "closed"),
    "closed": ("in_progress",),
}
ASSIGNABLE_ROLE = "coordinator"  # who may act on a case may be given one


class CaseError(ServiceError):
    """A refused case action (see `ServiceError`)."""


class TransitionRefused(CaseError):
    """A status this case cannot take from the one it has (a valid status, at the wrong time)."""


def get_case(case_id: int) -> Case | None:
    return db_session().get(Case, case_id)


def case_for(incident_id: int, traveller_id: int) -> Case | None:
    return db_session().scalar(
        select(Case).where(Case.incident_id == incident_id, Case.traveller_id == traveller_id))


def officer_actor(user: User | None) -> str | None:
    """Who the audit log names for an officer's action: the request's own name for its user
    (the console's email, "api:<email>" for a token), else the officer passed in (a script)."""
    name = audit.actor_name()
    return user.email if name == "system" and user is not None else name


def _audit(case: Case, action: str, actor: str | None = None, **details) -> None:
    audit.record(action, "case", case.id, actor=actor, incident_id=case.incident_id,
                 traveller_id=case.traveller_id, **details)


def _event(case: Case, kind: str, user: User | None = None, **columns) -> CaseEvent:
    now = utcnow()
    event = CaseEvent(kind=kind, at=now, user_id=user.id if user else None, **columns)
    case.events.append(event)
    case.updated_at = now
    return event


def _insert_case(incident_id: int, traveller_id: int, source: str) -> Case | None:
    """A new case row, or None when a concurrent answer opened it first (the unique
    constraint decides; the savepoint keeps the caller's answer)."""
    session = db_session()
    now = utcnow()
    case = Case(incident_id=incident_id, traveller_id=traveller_id, status="new", priority="normal",
                source=source, opened_at=now, waiting_since=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        return None
    return case


def open_case_for_help(incident_id: int, traveller_id: int, source: str,
                       response_id: int | None = None, checkin_report_id: int | None = None,
                       by_officer: bool = False) -> Case:
    """Open the case of a traveller who asked for help, or add this call to their case.

    `source` is the answer's channel; `checkin_report_id` names an unverified check-in (not
    yet the traveller's answer, but a call for help all the same); `by_officer` says an officer
    recorded it (the audit names them). A resolved or closed case is reopened as "new" and its
    wait starts again: the person needs someone now. Flushes; the caller commits."""
    if checkin_report_id is not None:
        actor = "public"  # nobody has proved who filled in the form
    else:
        actor = None if by_officer or source == PHONE else f"traveller:{traveller_id}"
    link = {"response_id": response_id, "checkin_report_id": checkin_report_id}
    case = case_for(incident_id, traveller_id)
    if case is None:
        case = _insert_case(incident_id, traveller_id, source)
        if case is not None:
            event = _event(case, "opened", source=source, to_status="new", **link)
            db_session().flush()
            _audit(case, "case.opened", actor=actor, source=source)
            _tell_on_call("case_opened", case, event)
            return case
        case = case_for(incident_id, traveller_id)
    if case.is_open:
        _event(case, "need_help", source=source, **link)
        _audit(case, "case.need_help", actor=actor, source=source)
    else:
        previous = case.status
        _reopen(case, "new")
        event = _event(case, "reopened", source=source, from_status=previous, to_status="new", **link)
        _audit(case, "case.reopened", actor=actor, source=source, from_status=previous, to_status="new")
        db_session().flush()
        _tell_on_call("case_reopened", case, event)
    db_session().flush()
    return case


def _tell_on_call(kind: str, case: Case, event: CaseEvent) -> None:
    """Queue the on-call officers' messages about this call for help once it is committed
    (the job would find nothing before)."""
    case_id, event_id = case.id, event.id
    after_commit(lambda: queue_notify(kind, case_id, event_id))


def _reopen(case: Case, status: str) -> None:
    case.status = status
    case.waiting_since = utcnow()
    case.resolved_at = None
    case.closed_at = None


def _done(commit: bool) -> None:
    session = db_session()
    if commit:
        session.commit()
    else:
        session.flush()


def allowed_statuses(case: Case) -> tuple[str, ...]:
    """The statuses an officer may give this case now."""
    return TRANSITIONS[case.status]


def set_status(case: Case, status: str, user: User | None, commit: bool = True) -> bool:
    """Move the case to `status`; returns whether anything changed. Reopening (a settled case
    back "in progress") restarts its wait, as a new call for help would."""
    if status not in CASE_STATUSES:
        raise CaseError(N_("Choose a status among new, in progress, resolved and closed."), field="status")
    if status == case.status:
        return False
    if status not in TRANSITIONS[case.status]:
        if status == "new":
            raise TransitionRefused(N_("A case cannot go back to “new”; reopen it as “in progress”."),
                                    field="status")
        raise TransitionRefused(N_("A closed case can only be reopened (“in progress”)."), field="status")
    previous = case.status
    reopening = previous not in OPEN_CASE_STATUSES
    if reopening:
        _reopen(case, status)
    else:
        case.status = status
    now = utcnow()
    if status == "resolved":
        case.resolved_at = now
    elif status == "closed":
        case.closed_at = now
    kind = "reopened" if reopening else "status"
    _event(case, kind, user, from_status=previous, to_status=status)
    _audit(case, f"case.{kind}", actor=officer_actor(user), from_status=previous, to_status=status)
    _done(commit)
    return True


def assignable_users() -> list[User]:
    """The active staff a case may be given to (those who may act on it), by name."""
    wanted = [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[ASSIGNABLE_ROLE]]
    return list(db_session().scalars(
        select(User).where(User.active.is_(True), User.role.in_(wanted)).order_by(User.name, User.id)))


def assign(case: Case, assignee_id: int | None, user: User | None, commit: bool = True) -> bool:
    """Give the case to an officer (None: to nobody); returns whether anything changed."""
    if assignee_id is not None:
        valid_id = isinstance(assignee_id, int) and not isinstance(assignee_id, bool)
        assignee = db_session().get(User, assignee_id) if valid_id else None
        if assignee is None or not assignee.has_role(ASSIGNABLE_ROLE):
            raise CaseError(N_("A case can only be assigned to an active coordinator, approver or "
                               "administrator."), field="assignee_id")
    if assignee_id == case.assignee_id:
        return False
    previous = case.assignee_id
    case.assignee_id = assignee_id
    _event(case, "assigned", user, assignee_id=assignee_id)
    _audit(case, "case.assigned", actor=officer_actor(user), assignee_id=assignee_id, previous_assignee_id=previous)
    _done(commit)
    return True


def set_priority(case: Case, priority: str, user: User | None, commit: bool = True) -> bool:
    if priority not in CASE_PRIORITIES:
        raise CaseError(N_("Choose a priority among low, normal, high and urgent."), field="priority")
    if priority == case.priority:
        return False
    previous = case.priority
    case.priority = priority
    _event(case, "priority", user, priority=priority)
    _audit(case, "case.priority", actor=officer_actor(user), from_priority=previous, to_priority=priority)
    _done(commit)
    return True


def clean_note(text: str | None) -> str | None:
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise CaseError(N_("A note can be at most %(max)d characters long."), field="note", max=NOTE_MAX)
    return text or None


def add_note(case: Case, text: str | None, user: User | None, commit: bool = True) -> CaseEvent:
    note = clean_note(text)
    if note is None:
        raise CaseError(N_("Write the note first."), field="note")
    event = _event(case, "note", user, note=note)
    db_session().flush()
    _audit(case, "case.note", actor=officer_actor(user), event_id=event.id)
    _done(commit)
    return event


def record_contact(case: Case, method: str, outcome: str, note: str | None, user: User | None,
                   commit: bool = True) -> CaseEvent:
    """A call, text or email an officer made to reach the traveller, and how it went."""
    if method not in CONTACT_METHODS:
        raise CaseError(N_("Choose how you tried to reach them: phone, SMS or email."), field="method")
    if outcome not in CONTACT_OUTCOMES:
        raise CaseError(N_("Choose how the contact attempt went."), field="outcome")
    event = _event(case, "contact", user, method=method, outcome=outcome, note=clean_note(note))
    db_session().flush()
    _audit(case, "case.contact", actor=officer_actor(user), event_id=event.id, method=method, outcome=outcome)
    _done(commit)
    return event
