"""What the incident page shows: who is affected, who was reached, who answered.

Before any alert is sent, `affected` is the live count of the zone; once an alert went
out, it is everyone on the frozen recipient lists (plus anyone who answered anyway).
Each traveller counts once: their latest answer, and reached if any channel got through.
Follow-up rounds go to people already on the lists, so they add nobody; a message to a
traveller's emergency contact does not count the traveller as reached.
The `household` figures count people instead (travellers and the companions on their
registrations, see `services.households`).
"""
from __future__ import annotations

from sqlalchemy import case, func, null, or_, select, union_all

from emergency.core.database import db_session
from emergency.core.models import Alert, AlertRecipient, Incident, SafetyResponse
from emergency.services import households
from emergency.services.followup_rounds import SKIPPED_ANSWERED
from notify.models import Delivery, InboundMessage, OutboxMessage
from registry.models import Companion, Stop, Traveller

REACHED = ("sent", "delivered")


def latest_responses(incident_id: int, on_time_only: bool = False):
    """Subquery: each traveller's latest answer about themselves to this incident (traveller_id,
    status, received_at, late, reported_by); answers about their companions are not theirs.
    With `on_time_only`, answers received after the incident was closed are left out: what
    the figures count, so a closed incident's stay as at closing."""
    return households.traveller_answers(incident_id, on_time_only)


def incident_stats(incident: Incident) -> dict:
    """The incident's figures, per registration, and `household`: the same per person. Late
    answers (received after closing) are not counted: a closed incident's answers stay as they
    were at closing; the late ones show in each traveller's answer history."""
    session = db_session()
    alert_ids = select(Alert.id).where(Alert.incident_id == incident.id)
    people_alerts = _people_alerts(incident)
    recipients = session.scalar(
        select(func.count(func.distinct(AlertRecipient.traveller_id)))
        .where(AlertRecipient.incident_id == incident.id, AlertRecipient.emergency_contact_id.is_(None))
    ) or 0
    latest = latest_responses(incident.id, on_time_only=True)
    answers = dict(session.execute(select(latest.c.status, func.count()).group_by(latest.c.status)).all())
    if recipients:
        affected = recipients
        extra = session.scalar(
            select(func.count()).select_from(latest).where(
                ~latest.c.traveller_id.in_(select(AlertRecipient.traveller_id)
                                           .where(AlertRecipient.incident_id == incident.id,
                                                  AlertRecipient.emergency_contact_id.is_(None)))
            )
        ) or 0
        affected += extra
    else:
        from emergency.services.incidents import count_for

        affected = count_for(incident)
    # a follow-up not sent because the person answered in the meantime did not fail
    state = case((Delivery.error == SKIPPED_ANSWERED, "skipped"), else_=Delivery.status)
    delivery_counts = dict(session.execute(
        select(state, func.count()).where(Delivery.campaign_id.in_(alert_ids)).group_by(state)
    ).all())
    reached = session.scalar(
        select(func.count(func.distinct(Delivery.recipient_id)))
        .where(Delivery.campaign_id.in_(people_alerts), Delivery.status.in_(REACHED))
    ) or 0
    safe = answers.get("safe", 0)
    need_help = answers.get("need_help", 0)
    return {
        "affected": affected,
        "delivered": reached,
        "messages_sent": sum(delivery_counts.get(s, 0) for s in REACHED),
        "pending": delivery_counts.get("pending", 0) + delivery_counts.get("sending", 0),
        "failed": delivery_counts.get("failed", 0),
        "safe": safe,
        "need_help": need_help,
        "no_answer": max(affected - safe - need_help, 0),
        "household": households.household_stats(incident),
    }


def _people_alerts(incident: Incident):
    """The incident's alerts to the people affected: all but the messages to their
    emergency contacts, whose deliveries say nothing about reaching the traveller."""
    return select(Alert.id).where(Alert.incident_id == incident.id, Alert.kind != "contact_check")


def _located_by(incident: Incident, traveller_ids: list[int]) -> dict[int, str]:
    """How the located recipients among `traveller_ids` were placed, 'point' or 'city', so the
    recipients table says "city centre" as the preview and the affected table do. The frozen
    recipient list keeps only located-or-not; their stops during the incident tell which
    (an exact point wins over a city, as it does when the affected set is ranked)."""
    if not traveller_ids:
        return {}
    start = incident.starts_at.date()
    query = (select(Stop.traveller_id, func.max(Stop.precision))  # 'point' > 'city'
             .where(Stop.traveller_id.in_(traveller_ids), Stop.precision != "country",
                    or_(Stop.departure.is_(None), Stop.departure >= start))
             .group_by(Stop.traveller_id))
    if incident.ends_at is not None:
        query = query.where(Stop.arrival <= incident.ends_at.date())
    return dict(db_session().execute(query).all())


def recipient_rows(incident: Incident, limit: int = 200) -> list[dict]:
    """The people on this incident's recipient lists, households where someone needs help first.

    Each row shows the traveller's latest answer, late or not (a "need help" after closing
    must be seen), `household`: the traveller and each companion with their status and where
    it comes from (`households.Person`), and `history`: every answer about anyone in the
    household, oldest first, with who gave it and for whom.
    """
    session = db_session()
    latest = latest_responses(incident.id)
    alert_ids = _people_alerts(incident)
    frozen = (
        select(AlertRecipient.traveller_id, func.min(AlertRecipient.language).label("language"),
               func.min(AlertRecipient.precision).label("precision"))
        .where(AlertRecipient.incident_id == incident.id, AlertRecipient.emergency_contact_id.is_(None))
        .group_by(AlertRecipient.traveller_id)
    ).subquery()
    named = households.companion_answers(incident.id)
    companion_needs_help = (select(named.c.traveller_id).where(named.c.status == "need_help")
                            .distinct().subquery())
    rows = session.execute(
        select(frozen.c.traveller_id, Traveller.given_name, Traveller.family_name, frozen.c.language,
               frozen.c.precision, latest.c.status, latest.c.received_at, latest.c.late)
        .join(Traveller, Traveller.id == frozen.c.traveller_id)
        .outerjoin(latest, latest.c.traveller_id == frozen.c.traveller_id)
        .outerjoin(companion_needs_help, companion_needs_help.c.traveller_id == frozen.c.traveller_id)
        .order_by(case((latest.c.status == "need_help", 0), (companion_needs_help.c.traveller_id.is_not(None), 0),
                       (latest.c.status.is_(None), 1), else_=2),
                  Traveller.family_name, Traveller.given_name)
        .limit(limit)
    ).all()
    ids = [p.traveller_id for p in rows]
    status: dict[tuple[int, str], str] = {}
    if ids:
        for d in session.execute(
            select(Delivery.recipient_id, Delivery.channel, Delivery.status)
            .where(Delivery.campaign_id.in_(alert_ids), Delivery.recipient_id.in_(ids),
                   or_(Delivery.error.is_(None), Delivery.error != SKIPPED_ANSWERED))
            .order_by(Delivery.id)
        ):
            status[(d.recipient_id, d.channel)] = d.status
    history = answer_history(incident, ids)
    people_of = households.households(incident.id, ids)
    located_by = _located_by(incident, [p.traveller_id for p in rows if p.precision != "country"])
    return [{
        "traveller_id": p.traveller_id,
        "name": f"{p.given_name} {p.family_name}",
        "language": p.language,
        "precision": p.precision,
        "located_by": "country" if p.precision == "country" else located_by.get(p.traveller_id, "point"),
        "email_status": status.get((p.traveller_id, "email")),
        "sms_status": status.get((p.traveller_id, "sms")),
        "response": p.status,
        "responded_at": p.received_at,
        "late": bool(p.late),
        "history": history.get(p.traveller_id, []),
        "household": people_of.get(p.traveller_id, []),
    } for p in rows]


def answer_history(incident: Incident, traveller_ids: list[int]) -> dict[int, list[dict]]:
    """Every answer about each of these travellers' households, oldest first: when, what, by
    which channel, who gave it and for whom (`companion_name`, empty: the traveller), from
    which message, whether it came after closing."""
    history: dict[int, list[dict]] = {}
    if not traveller_ids:
        return history
    rows = db_session().execute(
        select(SafetyResponse, Companion.given_name, Companion.family_name)
        .outerjoin(Companion, Companion.id == SafetyResponse.companion_id)
        .where(SafetyResponse.incident_id == incident.id, SafetyResponse.traveller_id.in_(traveller_ids))
        .order_by(SafetyResponse.received_at, SafetyResponse.id)
    )
    for r, given, family in rows:
        history.setdefault(r.traveller_id, []).append({
            "received_at": r.received_at, "status": r.status, "channel": r.channel,
            "reported_by": r.reported_by, "reporter_name": r.reporter_name,
            "source_message": r.source_message, "late": r.late, "message": r.message,
            "companion_id": r.companion_id,
            "companion_name": f"{given} {family}" if r.companion_id is not None else None,
        })
    return history


def outbox_messages(limit: int = 100) -> list[OutboxMessage]:
    return list(db_session().scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)))


def outbox_page(before: int | None = None, size: int = 50) -> dict:
    """One page of the outbox, newest first: the messages older than id `before` (the newest
    when None), the total, how many are newer than this page, and the id that opens the next
    (older) page, or None on the last. By id, not by offset, so a message arriving while
    someone reads does not shift every page by one."""
    session = db_session()
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    messages = list(session.scalars(query.limit(size + 1)))
    more = len(messages) > size
    messages = messages[:size]
    total = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    newer = 0
    if before is not None:
        newer = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.id >= before)) or 0
    return {"messages": messages, "total": total, "newer": newer,
            "older": messages[-1].id if more and messages else None}


def messages_to_read(incident: Incident, limit: int = 100) -> list[dict]:
    """SMS replies no keyword could read, from people this incident alerted, newest first.

    A reply belongs to the incident when its number was on one of the incident's
    recipient lists, or is a companion's on the registration of someone on them (a
    traveller's own number first, as `inbound_sms` matches it), and it came after the
    incident's first alert went out; these are what a consular officer must read and answer
    by hand.
    """
    session = db_session()
    first_sent = session.scalar(select(func.min(Alert.sent_at)).where(Alert.incident_id == incident.id))
    if first_sent is None:
        return []
    alerted = (AlertRecipient.incident_id == incident.id)
    own = select(AlertRecipient.phone).where(alerted, AlertRecipient.phone.is_not(None))
    numbers = union_all(
        select(AlertRecipient.phone.label("phone"), AlertRecipient.traveller_id.label("traveller_id"),
               null().label("companion_id")).where(alerted, AlertRecipient.phone.is_not(None)),
        select(Companion.phone.label("phone"), Companion.traveller_id.label("traveller_id"),
               Companion.id.label("companion_id"))
        .join(AlertRecipient, AlertRecipient.traveller_id == Companion.traveller_id)
        .where(alerted, Companion.phone.is_not(None), Companion.phone.not_in(own)),
    ).subquery()
    phones = (
        select(numbers.c.phone, func.min(numbers.c.traveller_id).label("traveller_id"),
               func.min(numbers.c.companion_id).label("companion_id"))
        .group_by(numbers.c.phone)
    ).subquery()
    rows = session.execute(
        select(InboundMessage.id, InboundMessage.body, InboundMessage.received_at, InboundMessage.from_number,
               Traveller.id.label("traveller_id"), Traveller.given_name, Traveller.family_name,
               Traveller.language, Companion.given_name.label("companion_given"),
               Companion.family_name.label("companion_family"))
        .join(phones, phones.c.phone == InboundMessage.from_number)
        .join(Traveller, Traveller.id == phones.c.traveller_id)
        .outerjoin(Companion, Companion.id == phones.c.companion_id)
        .where(InboundMessage.intent.is_(None), InboundMessage.received_at >= first_sent)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    ).all()
    return [{
        "id": r.id,
        "body": r.body,
        "received_at": r.received_at,
        "phone": r.from_number,
        "traveller_id": r.traveller_id,
        "name": f"{r.given_name} {r.family_name}",
        "companion_name": f"{r.companion_given} {r.companion_family}" if r.companion_given is not None else None,
        "language": r.language,
    } for r in rows]
