"""Privacy by default: trips end by themselves, records go once they are no longer needed.

A trip ends on its return date (`Trip.status_on`, nothing stored). A traveller is purged
`PURGE_AFTER_DAYS` days (default 548, about 18 months) after the last of their stops ended:
every stop has a departure date more than that many days ago. Travellers who never gave a
stop are purged the same time after they registered. Nobody who is a recipient of an active
incident's alert, or answered its safety check, is purged while that incident is open.

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
from sqlalchemy import delete, exists, func, or_, select, update

from common.clock import utcnow
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import AlertRecipient, Incident, SafetyResponse
from notify.models import Delivery
from registry.models import Stop, Traveller, Trip

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


def due_for_purge(today: date, after_days: int):
    """A SELECT of the ids of travellers due for deletion on `today`."""
    cutoff = today - timedelta(days=after_days)
    cutoff_at = datetime.combine(cutoff, time.min, tzinfo=timezone.utc)
    still_relevant_stop = exists().where(
        _S.c.traveller_id == _T.c.id, or_(_S.c.departure.is_(None), _S.c.departure >= cutoff))
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
        report.stops += session.execute(delete(_S).where(_S.c.traveller_id.in_(ids))).rowcount or 0
        session.execute(delete(_TRIP).where(_TRIP.c.traveller_id.in_(ids)))
        session.execute(update(Delivery.__table__).where(Delivery.recipient_id.in_(ids)).values(address=""))
        # Companions, contacts, sign-in links, recipients and responses go by ON DELETE CASCADE.
        report.travellers += session.execute(delete(_T).where(_T.c.id.in_(ids))).rowcount or 0
        session.commit()
    audit.record("privacy.purge", None, None, actor="system", travellers=report.travellers,
                 stops=report.stops, after_days=days, cutoff=report.cutoff.isoformat())
    session.commit()
    return report
