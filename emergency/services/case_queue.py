"""The case queue: who is waiting for an officer, the longest wait first, a page at a time.

Filters by incident, status (the open ones by default) and officer (one of them, or nobody
yet). The console page and the API read it the same way. Also what the case page shows of
the traveller: where they last were and how long they have been waiting.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from common.clock import utcnow
from common.i18n import N_
from emergency.core.database import db_session
from emergency.core.inputs import MAX_ID, whole_number
from emergency.core.models import CASE_STATUSES, OPEN_CASE_STATUSES, Case, CaseEvent
from emergency.core.timeutil import as_utc
from emergency.services.errors import ServiceError
from registry.models import Stop, Traveller

OPEN = "open"  # the status filter meaning "new or in progress"
ALL = "all"
STATUS_FILTERS = (OPEN, *CASE_STATUSES, ALL)
UNASSIGNED = "none"  # the officer filter meaning "nobody yet"
PER_PAGE = 50
MAX_PER_PAGE = 200


class QueueFilterError(ServiceError):
    """A filter or page the queue cannot take (see `ServiceError`)."""


@dataclass(frozen=True)
class QueueFilter:
    incident_id: int | None = None
    status: str = OPEN
    assignee: int | str | None = None  # a user id, UNASSIGNED, or None for anyone
    page: int = 1
    per_page: int = PER_PAGE


def _whole(value: str | None, field: str) -> int | None:
    if value in (None, ""):
        return None
    number = whole_number(value, minimum=-MAX_ID)
    if number is None:
        raise QueueFilterError(N_("%(name)s must be a whole number."), field=field, name=field)
    return number


def parse_filter(args) -> QueueFilter:
    """A `QueueFilter` from query-string arguments (incident, status, assignee, page,
    per_page); raises QueueFilterError naming the argument at fault."""
    status = (args.get("status") or OPEN).strip()
    if status not in STATUS_FILTERS:
        raise QueueFilterError(N_("status must be one of open, new, in_progress, resolved, closed or all."),
                               field="status")
    assignee_text = (args.get("assignee") or "").strip()
    assignee = UNASSIGNED if assignee_text == UNASSIGNED else _whole(assignee_text, "assignee")
    page = _whole(args.get("page"), "page")
    per_page = _whole(args.get("per_page"), "per_page")
    page = 1 if page is None else page
    per_page = PER_PAGE if per_page is None else per_page
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise QueueFilterError(N_("page must be 1 or more and per_page between 1 and %(max)d."),
                               field="page", max=MAX_PER_PAGE)
    return QueueFilter(incident_id=_whole(args.get("incident"), "incident"), status=status,
                       assignee=assignee, page=page, per_page=per_page)


def _where(f: QueueFilter) -> list:
    where = []
    if f.incident_id is not None:
        where.append(Case.incident_id == f.incident_id)
    if f.status == OPEN:
        where.append(Case.status.in_(OPEN_CASE_STATUSES))
    elif f.status != ALL:
        where.append(Case.status == f.status)
    if f.assignee == UNASSIGNED:
        where.append(Case.assignee_id.is_(None))
    elif f.assignee is not None:
        where.append(Case.assignee_id == f.assignee)
    return where


def queue(f: QueueFilter) -> tuple[list[Case], int]:
    """(the cases of this page, how many match in all): open cases before settled ones, then
    the longest wait first (the oldest `waiting_since`)."""
    session = db_session()
    where = _where(f)
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    settled_last = sql_case((Case.status.in_(OPEN_CASE_STATUSES), 0), else_=1)
    rows = session.scalars(
        select(Case).where(*where)
        .options(joinedload(Case.traveller), joinedload(Case.incident), joinedload(Case.assignee),
                 selectinload(Case.events).selectinload(CaseEvent.checkin_report))  # Case.unverified
        .order_by(settled_last, Case.waiting_since, Case.id)
        .offset((f.page - 1) * f.per_page).limit(f.per_page))
    return list(rows), total


def open_count() -> int:
    """How many cases wait for an officer (new or in progress), across incidents."""
    return db_session().scalar(
        select(func.count()).select_from(Case).where(Case.status.in_(OPEN_CASE_STATUSES))) or 0


def waiting_seconds(case: Case, now: datetime | None = None) -> int:
    """How long the case has waited since it was opened or last reopened (0 once settled:
    a resolved or closed case waits for nobody)."""
    if not case.is_open:
        return 0
    now = now or utcnow()
    return max(0, int((now - as_utc(case.waiting_since)).total_seconds()))


def latest_stop(traveller: Traveller, today: date | None = None) -> Stop | None:
    """Where the traveller last said they would be: the stop they are in today (the latest
    arrival, when stops overlap), else the last one already begun, else the next to come."""
    today = today or utcnow().date()
    stops = [s for trip in traveller.trips for s in trip.stops]
    if not stops:
        return None
    current = [s for s in stops if s.arrival <= today and (s.departure is None or s.departure >= today)]
    begun = [s for s in stops if s.arrival <= today]
    if current or begun:
        return max(current or begun, key=lambda s: (s.arrival, s.id))
    return min(stops, key=lambda s: (s.arrival, s.id))
