"""SMS opt-outs: STOP / ARRET / ARRÊT / UNSUBSCRIBE turn text messages off, START turns them on.

Carriers and Twilio honour English keywords by themselves, but French ARRET is ours to
honour, and a number Twilio has blocked only fails later (error 21610). So we record every
opt-out and opt-in here, one row per number (the latest keyword wins), and the fan-out asks
`opted_out_among` before creating SMS deliveries: an opted-out traveller gets email instead.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.clock import utcnow

from .models import SmsOptOut
from .replies import OPT_IN, OPT_OUT

_CHUNK = 1000


def _insert_for(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _keyword(text: str | None) -> str | None:
    """What the traveller typed, as recorded: upper case, accents kept ("ARRÊT")."""
    word = (text or "").strip().strip(".!?,;:…\"'«» ").upper()
    return word[:20] or None


def record_keyword(session: Session, phone: str, intent: str, keyword: str | None = None,
                   at: datetime | None = None) -> bool:
    """Record that `phone` opted out (intent 'opt_out') or back in ('opt_in'). Does not commit.

    One upsert, so two webhooks racing on the same number cannot create two rows. Returns
    whether SMS to this number is now off. Any other intent is a programming error.
    """
    if intent not in (OPT_OUT, OPT_IN):
        raise ValueError(f"not an opt-out or opt-in intent: {intent!r}")
    phone = (phone or "").strip()
    if not phone:
        raise ValueError("a phone number is required")
    opted_out = intent == OPT_OUT
    values = {
        "phone": phone,
        "opted_out": opted_out,
        "keyword": _keyword(keyword),
        "changed_at": at or utcnow(),
    }
    insert = _insert_for(session)
    stmt = insert(SmsOptOut.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["phone"],
        set_={"opted_out": stmt.excluded.opted_out, "keyword": stmt.excluded.keyword,
              "changed_at": stmt.excluded.changed_at},
    )
    session.execute(stmt)
    return opted_out


def is_opted_out(session: Session, phone: str | None) -> bool:
    """Whether text messages to `phone` are off."""
    if not phone:
        return False
    return bool(session.scalar(select(SmsOptOut.opted_out).where(SmsOptOut.phone == phone.strip())))


def opted_out_among(session: Session, phones: Iterable[str | None]) -> set[str]:
    """The numbers of `phones` that opted out (queried in chunks, for large sends)."""
    wanted = sorted({p for p in phones if p})
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        found.update(session.scalars(
            select(SmsOptOut.phone).where(SmsOptOut.phone.in_(chunk), SmsOptOut.opted_out.is_(True))))
    return found
