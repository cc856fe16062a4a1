"""Privacy by default: trips end by themselves, records go once they are no longer needed.

A trip ends on its return date (`Trip.status_on`, nothing stored). A traveller is purged
`PURGE_AFTER_DAYS` days (default 548, about 18 months) after the last of their stops ended:
every stop has a departure date more than that many days ago. A stop without a departure
date stops keeping the record `PURGE_OPEN_STOP_AFTER_DAYS` days (default 730) after it
began, so a registration whose return was never given does not stay for ever. Travellers
who never gave a stop are purged `PURGE_AFTER_DAYS` after they registered. Nobody who is a
recipient of an active incident's alert, or answered its safety check, is purged while that
incident is open.

Personal data goes when the person goes (`erase_travellers`, used by the purge, by a
traveller deleting their own record and by a partner deleting one): the registry rows and
everything hanging off them by foreign key (companions, contacts, frozen recipient lists,
answers, check-in reports, cases and their notes, sign-in links), and the copies of their
addresses and those of their companions and emergency contacts that live elsewhere: the
outbox's messages, the deliveries' address and provider error (which may quote it), the
SMS replies received from their numbers, opt-outs and contact health. An address another
registration still holds (a shared family phone) keeps its opt-out and health: they are
that person's too.

`purge_old_records` runs daily from `emergency cron` (RQ cron) and on demand with
`emergency purge [--dry-run]`. It deletes in batches, each its own transaction, so a large
purge neither holds locks for long nor starts over from nothing if interrupted; it writes one
audit entry with counts only (the audit log never holds personal data). Delivery rows of the
purged travellers lose their address but stay, so old campaign statistics still add up.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, delete, exists, func, or_, select, update

from common.clock import utcnow
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import AlertRecipient, Incident, SafetyResponse
from notify.models import ContactHealth, Delivery, InboundMessage, OutboxMessage, SmsOptOut
from registry.models import Companion, EmergencyContact, Stop, Traveller, Trip

BATCH_SIZE = 1000

_T = Traveller.__table__
_S = Stop.__table__
_TRIP = Trip.__table__


def today_utc() -> date:
    return utcnow().date()


def trip_is_active(trip: Trip, today: date | None = None) -> bool:
    """True while the trip is under way: begun, and some stop not yet departed."""
    return trip.status_on(today or today_utc()) == "active"


@dataclass
class PurgeReport:
    cutoff: date          # stops that ended before this day are old enough
    after_days: int
    travellers: int = 0
    stops: int = 0
    dry_run: bool = False


def due_for_purge(today: date, after_days: int, open_after_days: int | None = None):
    """A SELECT of the ids of travellers due for deletion on `today`; a stop without a
    departure date keeps its traveller `open_after_days` after its arrival (default: the
    PURGE_OPEN_STOP_AFTER_DAYS setting)."""
    if open_after_days is None:
        open_after_days = current_app.config["PURGE_OPEN_STOP_AFTER_DAYS"]
    cutoff = today - timedelta(days=after_days)
    open_cutoff = today - timedelta(days=open_after_days)
    cutoff_at = datetime.combine(cutoff, time.min, tzinfo=timezone.utc)
    still_relevant_stop = exists().where(
        _S.c.traveller_id == _T.c.id,
        or_(_S.c.departure >= cutoff, and_(_S.c.departure.is_(None), _S.c.arrival >= open_cutoff)))
    any_stop = exists().where(_S.c.traveller_id == _T.c.id)
    in_open_incident = or_(
        exists().where(AlertRecipient.traveller_id == _T.c.id, AlertRecipient.incident_id == Incident.id,
                       Incident.status == "active"),
        exists().where(SafetyResponse.traveller_id == _T.c.id, SafetyResponse.incident_id == Incident.id,
                       Incident.status == "active"),
    )
    return (select(_T.c.id)
            .where(~still_relevant_stop, or_(any_stop, _T.c.created_at < cutoff_at), ~in_open_incident)
            .order_by(_T.c.id))


def purge_old_records(today: date | None = None, dry_run: bool = False,
                      after_days: int | None = None, batch_size: int = BATCH_SIZE) -> PurgeReport:
    """Delete the travellers due for purge (see the module docstring); returns the counts.

    `dry_run` only counts. `after_days` defaults to the PURGE_AFTER_DAYS setting."""
    today = today or today_utc()
    days = current_app.config["PURGE_AFTER_DAYS"] if after_days is None else after_days
    report = PurgeReport(cutoff=today - timedelta(days=days), after_days=days, dry_run=dry_run)
    session = db_session()
    due = due_for_purge(today, days)
    if dry_run:
        ids = due.subquery()
        report.travellers = session.scalar(select(func.count()).select_from(ids)) or 0
        report.stops = session.scalar(
            select(func.count()).select_from(_S).where(_S.c.traveller_id.in_(select(ids.c.id)))) or 0
        session.rollback()
        return report
    while True:
        ids = list(session.scalars(due.limit(batch_size)))
        if not ids:
            break
        report.stops += session.scalar(select(func.count()).select_from(_S).where(_S.c.traveller_id.in_(ids))) or 0
        report.travellers += erase_travellers(session, ids)
        session.commit()
    audit.record("privacy.purge", None, None, actor="system", travellers=report.travellers,
                 stops=report.stops, after_days=days, cutoff=report.cutoff.isoformat())
    session.commit()
    return report


def _addresses(session, ids: list[int]) -> tuple[set[str], set[str]]:
    """(emails, phones) of these travellers, their companions and their emergency contacts."""
    emails: set[str] = set()
    phones: set[str] = set()
    for table, email_columns, phone_columns, owner in (
            (_T, [_T.c.email], [_T.c.phone, _T.c.phone2], _T.c.id),
            (Companion.__table__, [Companion.email], [Companion.phone], Companion.traveller_id),
            (EmergencyContact.__table__, [EmergencyContact.email], [EmergencyContact.phone],
             EmergencyContact.traveller_id)):
        for row in session.execute(select(*email_columns, *phone_columns).where(owner.in_(ids))):
            emails.update(v.strip().lower() for v in row[:len(email_columns)] if v)
            phones.update(v.strip() for v in row[len(email_columns):] if v)
    return emails, phones


def _held_by_others(session, ids: list[int], emails: set[str], phones: set[str]) -> set[str]:
    """Those addresses that a registration other than these travellers' still holds."""
    held: set[str] = set()
    if emails:
        for column, owner in ((_T.c.email, _T.c.id), (Companion.email, Companion.traveller_id),
                              (EmergencyContact.email, EmergencyContact.traveller_id)):
            held.update(v.lower() for v in session.scalars(
                select(column).where(func.lower(column).in_(emails), owner.not_in(ids))))
    if phones:
        for column, owner in ((_T.c.phone, _T.c.id), (_T.c.phone2, _T.c.id), (Companion.phone, Companion.traveller_id),
                              (EmergencyContact.phone, EmergencyContact.traveller_id)):
            held.update(session.scalars(select(column).where(column.in_(phones), owner.not_in(ids))))
    return held


def erase_travellers(session, ids: list[int]) -> int:
    """Delete these travellers and every copy of their personal data (see the module
    docstring); returns how many travellers were deleted. Does not commit."""
    if not ids:
        return 0
    emails, phones = _addresses(session, ids)
    held = _held_by_others(session, ids, emails, phones)
    emails, phones = emails - held, phones - held
    their_deliveries = select(Delivery.id).where(Delivery.recipient_id.in_(ids))
    session.execute(delete(OutboxMessage).where(or_(
        OutboxMessage.delivery_id.in_(their_deliveries),
        func.lower(OutboxMessage.to).in_(emails | phones))).execution_options(synchronize_session=False))
    session.execute(update(Delivery).where(Delivery.recipient_id.in_(ids)).values(address="", error=None)
                    .execution_options(synchronize_session=False))
    if phones:
        session.execute(update(InboundMessage).where(InboundMessage.from_number.in_(phones))
                        .values(from_number="", body="").execution_options(synchronize_session=False))
        session.execute(delete(SmsOptOut).where(SmsOptOut.phone.in_(phones)).execution_options(synchronize_session=False))
    if emails or phones:
        session.execute(delete(ContactHealth).where(func.lower(ContactHealth.address).in_(emails | phones))
                        .execution_options(synchronize_session=False))
    session.execute(delete(_S).where(_S.c.traveller_id.in_(ids)))
    session.execute(delete(_TRIP).where(_TRIP.c.traveller_id.in_(ids)))
    # Companions, contacts, sign-in links, recipients, answers, check-in reports and cases go by ON DELETE CASCADE.
    deleted = session.execute(delete(_T).where(_T.c.id.in_(ids))).rowcount or 0
    session.expire_all()
    return deleted
