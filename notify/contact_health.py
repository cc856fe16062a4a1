"""Which addresses providers told us are bad, so we stop sending to them.

A SendGrid bounce or drop, a Twilio undelivered or failed status: the address is marked
`bad` (with the provider's reason). Later sends skip it and the application falls back to
the traveller's other channel, because repeating a message to an address that cannot
receive it warns no one. Marking is idempotent; the latest provider verdict wins.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from common.clock import utcnow

from .models import ContactHealth

# Provider statuses that say the address itself cannot receive (not a temporary delay).
BAD_STATUSES = {
    "email": frozenset({"bounce", "dropped", "blocked"}),
    "sms": frozenset({"undelivered", "failed"}),
}


def normalise(channel: str, address: str) -> str:
    address = (address or "").strip()
    return address.lower() if channel == "email" else address


def says_bad(channel: str, status: str | None) -> bool:
    """Whether a provider status about a message on `channel` condemns the address."""
    return (status or "").strip().lower() in BAD_STATUSES.get(channel, frozenset())


def mark(session: Session, channel: str, address: str, status: str = "bad",
         reason: str | None = None) -> ContactHealth | None:
    """Record `status` (bad | ok) for an address. Does not commit."""
    if status not in ("ok", "bad"):
        raise ValueError("status must be 'ok' or 'bad'")
    address = normalise(channel, address)
    if not address:
        return None
    row = session.scalar(select(ContactHealth).where(ContactHealth.channel == channel,
                                                     ContactHealth.address == address))
    if row is None:
        row = ContactHealth(channel=channel, address=address)
        session.add(row)
    row.status = status
    row.reason = (reason or None) and str(reason)[:2000]
    row.updated_at = utcnow()
    session.flush()
    return row


def is_bad(session: Session, channel: str, address: str | None) -> bool:
    return bool(address) and (channel, normalise(channel, address)) in bad_addresses(session, [(channel, address)])


def bad_addresses(session: Session, pairs: Iterable[tuple[str, str | None]]) -> set[tuple[str, str]]:
    """The (channel, normalised address) pairs among `pairs` that are marked bad."""
    wanted = sorted({(c, normalise(c, a)) for c, a in pairs if a})
    if not wanted:
        return set()
    total_bad = session.scalar(select(func.count()).select_from(ContactHealth).where(ContactHealth.status == "bad"))
    if total_bad <= max(5000, len(wanted)):  # one scan beats many lookups when few are bad
        every = session.execute(select(ContactHealth.channel, ContactHealth.address)
                                .where(ContactHealth.status == "bad"))
        return {(channel, address) for channel, address in every} & set(wanted)
    found: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update((channel, address) for channel, address in session.execute(
            select(ContactHealth.channel, ContactHealth.address)
            .where(ContactHealth.status == "bad",
                   tuple_(ContactHealth.channel, ContactHealth.address).in_(chunk))
        ))
    return found


def drop_bad(session: Session, rows: list[tuple]) -> list[tuple]:
    """Delivery rows (recipient_id, channel, address, language) whose address is not bad."""
    bad = bad_addresses(session, [(r[1], r[2]) for r in rows])
    return [r for r in rows if not r[2] or (r[1], normalise(r[1], r[2])) not in bad]
