"""Background jobs of the alert fan-out. Each takes ids, reloads from the database and is
safe to run twice: recipients are frozen once, delivery rows are unique per
(alert, traveller, channel) and claimed with a conditional UPDATE before any provider call."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select, text

from common.clock import utcnow
from emergency.core.database import db_session
from emergency.core.models import Alert, AlertRecipient
from emergency.core.timeutil import as_utc
from emergency.jobs.providers import providers
from emergency.jobs.retries import batch_sizes, sweep_scope, with_retries
from emergency.jobs.runner import enqueue, job
from emergency.services import followup_rounds
from emergency.services.alert_messages import contact_sms, email_batches, sms_body
from emergency.services.zones import RecipientZones, load_zones, recipient_groups
from notify.contact_health import bad_addresses, drop_bad, normalise
from notify.delivery import batch_counts, create_deliveries, send_email_batch, send_sms_batch
from notify.models import Delivery, SmsOptOut
from notify.providers.base import SmsMessage
from registry.bulk import insert_rows, membership
from registry.models import Traveller


def _freeze_recipients(alert: Alert) -> None:
    """Take the recipient snapshot once: later registry edits don't change who was told."""
    session = db_session()
    if session.scalar(select(func.count()).select_from(AlertRecipient).where(AlertRecipient.alert_id == alert.id)):
        return
    if alert.followup_of is not None:  # a follow-up: those of its safety check not heard from
        alert.recipient_count = followup_rounds.freeze_round(alert)
        session.commit()
        return
    incident = alert.incident
    groups = recipient_groups(session, load_zones(incident), as_utc(incident.starts_at),
                              as_utc(incident.ends_at))
    # COPY on PostgreSQL, = ANY(array) lookups, ids as arrays: 100k recipients frozen in
    # seconds and in a few MB (bench/fanout.py), where rows and row-by-row inserts took most
    # of a minute and 50 MB before the first message left
    member, chunk_size = membership(session)
    total = 0
    for zone_id, located, ids in groups:
        precision = "point" if located else "country"
        for start in range(0, ids.size, chunk_size):
            chunk = ids[start:start + chunk_size].tolist()
            people = {p.id: p for p in session.execute(
                select(Traveller.id, Traveller.language, Traveller.email, Traveller.phone)
                .where(member(Traveller.id, chunk)))}
            rows = [{"alert_id": alert.id, "incident_id": alert.incident_id, "traveller_id": tid,
                     "language": people[tid].language, "email": people[tid].email,
                     "phone": people[tid].phone, "precision": precision, "zone_id": zone_id}
                    for tid in chunk if tid in people]  # in the affected set's order
            insert_rows(session, AlertRecipient.__table__, rows)
            total += len(rows)
    alert.recipient_count = total
    session.commit()


@job
def prepare_alert(alert_id: int) -> None:
    session = db_session()
    alert = session.get(Alert, alert_id)
    if alert is None or alert.status not in ("sending", "sent"):
        return
    _freeze_recipients(alert)
    sizes = batch_sizes()
    batches = {channel: 0 for channel in sizes}
    # Streamed in slices of one channel: memory does not grow with the number of
    # recipients. Batches mix languages: one SendGrid request carries every language of
    # a batch (sections), so EMAIL_BATCH_SIZE recipients are one request whatever the split.
    for rows in _delivery_rows(session, alert, sizes):
        rows = drop_bad(session, rows)
        batches = create_deliveries(session, alert_id, rows, sizes)
        session.commit()
    if not any(batches.values()):
        batches = batch_counts(session, alert_id, sizes)
    for channel, count in batches.items():
        task = deliver_email_batch if channel == "email" else deliver_sms_batch
        for batch in range(count):
            enqueue(task, alert_id, batch, job_id=f"alert-{alert_id}-{channel}-{batch}", queue="alerts")
    finish_if_done(alert_id)


_SLICE_BATCHES = 5  # batches of a channel created per slice of recipients


def _delivery_rows(session, alert: Alert, sizes: dict[str, int]):
    """(traveller, channel, address, language) rows of the alert, in slices of one channel
    (all languages together), each a whole number of batches (keyset pagination on the
    frozen list).

    Opted-out numbers (STOP / ARRET) get no SMS; their owner gets the email instead.
    A follow-up round to travellers goes to each of them once: on its lead channel (the
    first of `channels`) where they can be reached by it, else on the other.
    """
    channels = alert.channels or []
    one_channel = alert.kind == followup_rounds.FOLLOW_UP
    for channel in ("email", "sms"):
        if channel not in sizes:
            continue
        limit = sizes[channel] * _SLICE_BATCHES
        last_id = 0
        while True:
            page = session.execute(
                select(AlertRecipient.id, AlertRecipient.traveller_id, AlertRecipient.email,
                       AlertRecipient.phone, AlertRecipient.language, SmsOptOut.opted_out)
                .outerjoin(SmsOptOut, SmsOptOut.phone == AlertRecipient.phone)
                .where(AlertRecipient.alert_id == alert.id, AlertRecipient.id > last_id)
                .order_by(AlertRecipient.id).limit(limit)
            ).all()
            if not page:
                break
            last_id = page[-1].id
            if one_channel:
                rows = [row for row in _one_channel_rows(session, page, channels) if row[1] == channel]
                if rows:
                    yield rows
                continue
            rows = []
            for r in page:
                sms_wanted = "sms" in channels and bool(r.phone)
                if channel == "sms" and sms_wanted and not r.opted_out:
                    rows.append((r.traveller_id, "sms", r.phone, r.language))
                elif channel == "email" and r.email and ("email" in channels or (sms_wanted and r.opted_out)):
                    rows.append((r.traveller_id, "email", r.email, r.language))
            if rows:
                yield rows


def _one_channel_rows(session, page, channels: list[str]) -> list[tuple]:
    """Each recipient's one delivery row: on the lead channel if reachable by it (an
    address that is not known bad; for SMS, a number that has not opted out), else on the
    other channel if reachable by that."""
    addresses = {"email": lambda r: r.email, "sms": lambda r: r.phone}
    bad = bad_addresses(session, [(c, addresses[c](r)) for r in page for c in channels if addresses[c](r)])
    rows = []
    for r in page:
        for channel in channels:
            address = addresses[channel](r)
            if not address or (channel, normalise(channel, address)) in bad:
                continue
            if channel == "sms" and r.opted_out:
                continue
            rows.append((r.traveller_id, channel, address, r.language))
            break
    return rows


def _skip_heard_from(alert: Alert):
    """For a follow-up: leave unsent the messages to anyone we have heard from since its
    recipients were frozen (they answered, or have a case)."""
    if alert.kind not in followup_rounds.FOLLOWUP_KINDS:
        return None

    def skip(rows) -> dict[int, str]:
        heard = followup_rounds.answered_since_freeze(alert, [r.recipient_id for r in rows])
        return {r.id: followup_rounds.SKIPPED_ANSWERED for r in rows if r.recipient_id in heard}

    return skip


@job
def deliver_email_batch(alert_id: int, batch: int, attempt: int = 0) -> None:
    session = db_session()
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    email, _sms = providers()
    skip = _skip_heard_from(alert)
    with_retries(deliver_email_batch, alert_id, "email", batch, attempt, lambda **options: send_email_batch(
        session, alert_id, batch, email, lambda ds: email_batches(alert, ds), skip=skip, **options))
    finish_if_done(alert_id)


@job
def deliver_sms_batch(alert_id: int, batch: int, attempt: int = 0) -> None:
    session = db_session()
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    _email, sms = providers()
    zones = RecipientZones(session, alert, "sms", batch)
    bodies: dict[tuple, str] = {}  # one text per (language, zone), not one per recipient
    if alert.kind == followup_rounds.CONTACT_CHECK:  # each names the traveller asked about
        names = contact_sms(alert, batch)

        def render(d: Delivery) -> SmsMessage:
            if d.language not in bodies:
                bodies[d.language] = sms_body(alert, d.language)
            return SmsMessage(d.id, d.address, names(bodies[d.language], d.recipient_id))
    else:
        def render(d: Delivery) -> SmsMessage:
            zone = zones.zone_for(d.recipient_id)
            key = (d.language, zone.id if zone is not None else None)
            if key not in bodies:
                bodies[key] = sms_body(alert, d.language, zone)
            return SmsMessage(d.id, d.address, bodies[key])

    concurrency = current_app.config.get("SMS_CONCURRENCY") or 1  # calls in flight per worker
    skip = _skip_heard_from(alert)
    with_retries(deliver_sms_batch, alert_id, "sms", batch, attempt, lambda **options: send_sms_batch(
        session, alert_id, batch, sms, render, concurrency=concurrency, skip=skip, **options))
    finish_if_done(alert_id)


def finish_if_done(alert_id: int) -> None:
    """An alert is `sent` once no delivery is still waiting for its provider call."""
    session = db_session()
    # the condition spelled as the partial index's predicate (ix_deliveries_waiting), so the
    # databases use it: one index probe per job instead of counting every row of the alert
    waiting = session.scalar(
        select(Delivery.id)
        .where(Delivery.campaign_id == alert_id, text("deliveries.status IN ('pending', 'sending')"))
        .limit(1)
    )
    alert = session.get(Alert, alert_id)
    if alert is not None and alert.status == "sending" and waiting is None:
        alert.status = "sent"
        session.commit()


@job
def sweep_deliveries() -> int:
    """Re-queue delivery batches that a lost job left waiting, RQ holding no job for them (its
    registries are not the truth about what was sent; our delivery rows are). Claims stay
    conditional, so a batch queued twice still calls the provider once per delivery."""
    session = db_session()
    stale, held = sweep_scope()
    waiting = session.execute(
        select(Delivery.campaign_id, Delivery.channel, Delivery.batch).distinct()
        .join(Alert, Alert.id == Delivery.campaign_id)
        .where(Alert.status == "sending", Delivery.status.in_(("pending", "sending")), Delivery.created_at < stale)
    ).all()
    waiting = [row for row in waiting if tuple(row) not in held]
    bucket = int(utcnow().timestamp() // 60)
    for alert_id, channel, batch in waiting:
        task = deliver_email_batch if channel == "email" else deliver_sms_batch
        enqueue(task, alert_id, batch, job_id=f"alert-{alert_id}-{channel}-{batch}-sweep{bucket}", queue="alerts")
    return len(waiting)
