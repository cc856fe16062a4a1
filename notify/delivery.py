"""Delivery tracking: one row per (campaign, recipient, channel), claimed before sending.

"Nothing lost, nothing twice": the rows exist before any provider call
(`create_deliveries`, idempotent), and a worker only sends what it has claimed with one
conditional UPDATE (`pending` → `sending`), committed before the provider is called. A
job run twice, or two workers on the same batch, therefore never send the same row twice;
the second claim simply gets nothing. Our rows, not the job system's registries, are the
truth about what was sent.

A worker that dies between claim and record leaves rows in `sending`: orphans. The next job
on the batch settles them before it claims anything (`settle_orphans`): it asks the provider
which of them it accepted (Twilio: the Messages list by number and date; SendGrid: the Email
Activity API, by the send id the request carried; the outbox: its own table), records those
sent, and puts the others back to pending. A provider that cannot tell (SendGrid without the
Email Activity add-on) gets them again: better a duplicate than a traveller never warned, and
never more duplicates than the calls in flight when the worker died. The caller says which
claims are orphans (`orphans_before`: the job system knows which workers are alive); a claim
older than `stale_after` (longer than any job may run) is taken in any case. Temporary
provider failures put rows back to `pending` and raise `RetryLater`, so the job system runs
the batch again later.

Sessions: `create_deliveries`, `record_results` and `apply_status` leave committing to
the caller; `claim_batch` and the `send_*_batch` functions commit, because a claim must
be visible to other workers before the provider is called.
"""
from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from common.clock import utcnow
from common.i18n import N_

from .errors import NotifyError, ProviderUnsure, RetryLater
from .models import DELIVERY_STATES, Delivery
from .providers.base import EmailBatch, EmailProvider, EmailRecipient, SendResult, SmsMessage, SmsProvider
from .sending_threads import sending_threads

log = logging.getLogger(__name__)

# Longer than the job timeout (JOB_TIMEOUT, 600 s by default) so a live worker is never robbed.
DEFAULT_STALE_AFTER = timedelta(minutes=15)
NO_BATCH = -1  # rows that can never be sent (no address) are created failed, outside any batch
_INSERT_CHUNK = 1000
_ERROR_MAX = 2000

# Rows not sent yet are `pending` or `sending`. The conditions of the claim and of the sent
# record name the other states instead (`status NOT IN _DONE`): spelled as status IN
# ('pending', 'sending') they fall inside the predicate of the partial index of waiting
# rows (ix_deliveries_waiting, for `finish_if_done` alone), whose size the statistics never
# know during an alert (empty, then 200k rows within a minute), and PostgreSQL then scans that
# whole index for every claim and record (3-30 ms each instead of 0.1 ms at 100k recipients).
_DONE = tuple(state for state in DELIVERY_STATES if state not in ("pending", "sending"))
_NOT_DONE_SQL = "deliveries.status NOT IN ({})".format(", ".join(f"'{state}'" for state in _DONE))

# Status ranks: a status event only ever moves a delivery forward.
_RANK = {"pending": 0, "sending": 1, "sent": 2, "failed": 3, "delivered": 4}
# Provider statuses (Twilio MessageStatus, SendGrid event types) → our states.
STATUS_MAP = {
    "queued": "sent", "accepted": "sent", "sending": "sent", "sent": "sent", "scheduled": "sent",
    "processed": "sent", "deferred": "sent",
    "delivered": "delivered", "read": "delivered", "open": "delivered", "click": "delivered",
    "undelivered": "failed", "failed": "failed", "bounce": "failed", "dropped": "failed",
    "blocked": "failed", "canceled": "failed",
}


def _insert_for(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - we support the two databases of DESIGN.md
        raise NotImplementedError(f"create_deliveries does not support {dialect}")
    return insert


def create_deliveries(session: Session, campaign_id: int,
                      rows: Iterable[tuple[int, str, str | None, str]],
                      batch_sizes: dict[str, int]) -> dict[str, int]:
    """Create the delivery rows of a campaign and number them into batches.

    `rows` are (recipient_id, channel, address, language). Rows that already exist for
    this campaign are left untouched, so calling this again (a retried job) creates no
    duplicate; new rows go into new batches after the existing ones. A row with no
    address is recorded as failed, outside any batch. Returns, per channel of
    `batch_sizes`, how many batches there are (batches are numbered 0..n-1).
    """
    for channel, size in batch_sizes.items():
        if not isinstance(size, int) or size < 1:
            raise NotifyError(N_("The batch size for %(channel)s must be a positive whole number."),
                              channel=channel)
    seen: set[tuple[int, str]] = set()
    wanted: list[tuple[int, str, str, str]] = []
    for recipient_id, channel, address, language in rows:
        if channel not in batch_sizes:
            raise NotifyError(N_("Unknown channel %(channel)s."), channel=channel)
        key = (int(recipient_id), channel)
        if key not in seen:
            seen.add(key)
            wanted.append((key[0], channel, (address or "").strip(), (language or "en")[:2]))

    # Only this call's recipients are looked up (in chunks), so a caller streaming a large
    # campaign in slices does not reload every earlier row on each call (bench/fanout.py).
    existing: set[tuple[int, str]] = set()
    wanted_ids = sorted({r[0] for r in wanted})
    member, chunk = _membership(session)
    for start in range(0, len(wanted_ids), chunk):
        existing.update((recipient_id, channel) for recipient_id, channel in session.execute(
            select(Delivery.recipient_id, Delivery.channel).where(
                Delivery.campaign_id == campaign_id,
                member(Delivery.recipient_id, wanted_ids[start:start + chunk]))))
    next_batch = {channel: max(_top_batch(session, campaign_id, channel, NO_BATCH), NO_BATCH) + 1
                  for channel in batch_sizes}

    now = utcnow()
    counters = {channel: 0 for channel in batch_sizes}
    values = []
    for recipient_id, channel, address, language in wanted:
        if (recipient_id, channel) in existing:
            continue
        row = dict(campaign_id=campaign_id, recipient_id=recipient_id, channel=channel,
                   address=address, language=language, attempts=0,
                   created_at=now, updated_at=now)
        if address:
            row.update(status="pending",
                       batch=next_batch[channel] + counters[channel] // batch_sizes[channel])
            counters[channel] += 1
        else:
            row.update(status="failed", batch=NO_BATCH, error="no address")
        values.append(row)

    if values:
        insert = _insert_for(session)
        stmt = insert(Delivery.__table__).on_conflict_do_nothing(
            index_elements=["campaign_id", "recipient_id", "channel"])
        for start in range(0, len(values), _INSERT_CHUNK):
            session.execute(stmt, values[start:start + _INSERT_CHUNK])
    session.flush()
    return batch_counts(session, campaign_id, batch_sizes)


def batch_counts(session: Session, campaign_id: int, channels: Iterable[str]) -> dict[str, int]:
    """How many batches each channel of a campaign has (0 when it has none)."""
    return {channel: _top_batch(session, campaign_id, channel, -1) + 1 for channel in channels}


def _top_batch(session: Session, campaign_id: int, channel: str, none: int) -> int:
    """The highest batch number of a campaign's channel (`none` when it has no rows): one
    probe at the end of ix_deliveries_batch. (A GROUP BY over channels read every row of
    the campaign, once per slice of a large send: quadratic, 30 s at 50k recipients.)"""
    top = session.scalar(select(func.max(Delivery.batch)).where(
        Delivery.campaign_id == campaign_id, Delivery.channel == channel))
    return none if top is None else top


def _membership(session: Session):
    """(`member(column, values)`, chunk size): `IN (...)` on SQLite; `= ANY(array)` with one
    array parameter on PostgreSQL, where the statement stays the same whatever the number
    of values and the plan probes the unique (campaign, recipient, channel) index. (A long
    IN list, prepared by psycopg after five runs, got a generic plan that read the whole
    campaign for each chunk.)"""
    if session.get_bind().dialect.name != "postgresql":
        return (lambda column, values: column.in_(values)), 900

    def member(column, values):
        return column == any_(bindparam(None, list(values), type_=ARRAY(Integer)))

    return member, 20_000


def claim_batch(session: Session, campaign_id: int, channel: str, batch: int, *,
                stale_after: timedelta | None = DEFAULT_STALE_AFTER,
                now: datetime | None = None, after_id: int | None = None,
                limit: int | None = None) -> list[Delivery]:
    """Claim the sendable rows of one batch for this worker, and commit the claim; the
    claimed rows as ORM objects, in id order. See `claim_rows`."""
    rows = claim_rows(session, campaign_id, channel, batch, stale_after=stale_after, now=now,
                      after_id=after_id, limit=limit)
    if not rows:
        return []
    return list(session.scalars(
        select(Delivery).where(Delivery.id.in_([r.id for r in rows])).order_by(Delivery.id)
        .execution_options(populate_existing=True)
    ))


def claim_rows(session: Session, campaign_id: int, channel: str, batch: int, *,
               stale_after: timedelta | None = DEFAULT_STALE_AFTER,
               now: datetime | None = None, after_id: int | None = None,
               limit: int | None = None) -> list:
    """Claim the sendable rows of one batch for this worker, and commit the claim; the
    claimed rows (every column of `deliveries`, read as attributes: `row.id`,
    `row.address`...) in id order.

    One conditional UPDATE moves `pending` rows (and rows left in `sending` for longer
    than `stale_after`; None never reclaims) to `sending`. Concurrent claims are
    serialised by the database, so a row is returned to one claimer only.

    With `limit`, only the first `limit` claimable rows whose id is above `after_id`
    are claimed (a sender working through a large batch a slice at a time, so a worker
    that dies leaves a slice in `sending`, not the batch; walking up the ids, it never
    takes again in the same pass a row it put back to pending). On PostgreSQL the slice is
    picked with FOR UPDATE SKIP LOCKED, so two claimers of one batch take different rows
    without waiting for each other.

    The rows come back from the UPDATE itself (RETURNING), not as ORM objects: the SMS
    sender claims a slice of 50 many times a second, and building that statement anew
    and loading the objects cost a worker about a tenth of its CPU
    (bench/sms_sender_micro.py). Objects of these rows already in the session are
    expired, so they read the claim.
    """
    now = now or utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = _claim_statement(postgres, stale_after is not None, after_id is not None, limit is not None)
    params = {"claim_campaign_id": campaign_id, "claim_channel": channel, "claim_batch": batch,
              "claim_now": now}
    if stale_after is not None:
        params["claim_stale_before"] = now - stale_after
    if after_id is not None:
        params["claim_after_id"] = after_id
    if limit is not None:
        params["claim_limit"] = limit
    if postgres:
        session.execute(_GENERIC_PLAN)
    rows = sorted(session.execute(stmt, params).all(), key=lambda row: row.id)
    session.commit()
    _expire_loaded(session, [row.id for row in rows])
    return rows


def _expire_loaded(session: Session, ids: Iterable[int]) -> None:
    """Expire the deliveries among `ids` that this session holds as objects, so they read
    what a statement just wrote. Walks the session's identity map (a few objects in a
    sending job) instead of building an identity key per id, which cost a sixth of the
    SMS sender's own CPU (bench/sms_sender_micro.py --prof)."""
    held = {key[1][0]: obj for key, obj in session.identity_map.items() if key[0] is Delivery}
    if held:
        for delivery_id in ids:
            loaded = held.get(delivery_id)
            if loaded is not None:
                session.expire(loaded)


# The claim's plan does not depend on its parameters (ix_deliveries_batch in id order, then
# the primary key), but left to itself PostgreSQL re-plans it at every call: judged against
# a custom plan, the generic one looks dearer, so the prepared statement never uses it.
# Planning is then a sixth of the server's CPU per claimed row at provider speed (7 of 38 us:
# EXPLAIN ANALYZE, and a claim-and-record loop on 20,000 rows). SET LOCAL ends with the
# claim's transaction, which claim_rows commits at once.
_GENERIC_PLAN = text("SET LOCAL plan_cache_mode = force_generic_plan")


@functools.lru_cache(maxsize=None)
def _claim_statement(postgres: bool, reclaim_stale: bool, after: bool, limited: bool):
    """The claim UPDATE for one combination of options, built once (its parameters bound
    at each call)."""
    c = Delivery.__table__.c
    # pending, or (reclaim_stale) sending since before claim_stale_before: see _DONE
    taken = c.status == "sending"
    if reclaim_stale:
        taken = and_(taken, c.claimed_at >= bindparam("claim_stale_before"))
    claimable = and_(c.status.notin_(_DONE), ~taken)
    where = [c.campaign_id == bindparam("claim_campaign_id"), c.channel == bindparam("claim_channel"),
             c.batch == bindparam("claim_batch"), claimable]
    if after:
        where.append(c.id > bindparam("claim_after_id"))
    if limited:
        first = select(c.id).where(*where).order_by(c.id).limit(bindparam("claim_limit", type_=Integer))
        if postgres:
            # a materialised CTE runs once; as an IN (subquery) PostgreSQL re-ran the
            # subquery for each row and, seeing its own claims, went on claiming the batch
            picked = (first.with_for_update(skip_locked=True)
                      .cte("picked").prefix_with("MATERIALIZED"))
            where = [c.id.in_(select(picked.c.id)), claimable]
        else:  # SQLite evaluates the subquery once, and writers are serialised
            where = [c.id.in_(first.scalar_subquery()), claimable]
    return (update(Delivery.__table__).where(*where)
            .values(status="sending", attempts=c.attempts + 1, claimed_at=bindparam("claim_now"),
                    updated_at=bindparam("claim_now"))
            .returning(*c))


def record_results(session: Session, results: Iterable[SendResult], provider_name: str | None = None,
                   *, max_attempts: int | None = None) -> None:
    """Record provider outcomes: sent, pending again (retryable) or failed. Does not commit.

    A retryable failure on a row already tried `max_attempts` times fails for good.
    A row another worker already recorded as sent or beyond is not moved back.
    """
    results = list(results)
    if not results:
        return
    now = utcnow()
    sent = [r for r in results if r.ok]
    if sent:
        _record_sent(session, sent, provider_name, now)
    results = [r for r in results if not r.ok]
    if not results:
        return
    rows = {d.id: d for d in session.scalars(
        select(Delivery).where(Delivery.id.in_([r.delivery_id for r in results])))}
    for result in results:
        delivery = rows.get(result.delivery_id)
        if delivery is None or delivery.status not in ("sending", "pending"):
            continue
        if provider_name:
            delivery.provider = provider_name
        delivery.updated_at = now
        if result.retryable and (max_attempts is None or delivery.attempts < max_attempts):
            delivery.status = "pending"
            delivery.error = (result.error or "")[:_ERROR_MAX] or None
        else:
            delivery.status = "failed"
            delivery.error = (result.error or "failed")[:_ERROR_MAX]
    session.flush()


_SENT = (
    update(Delivery.__table__)
    .where(Delivery.__table__.c.id == bindparam("d_id"),
           text(_NOT_DONE_SQL))
    # executemany: no expanding IN
)
# PostgreSQL: the whole group in one statement, the ids and message ids as two arrays: an
# index probe per id (= ANY), each row's message id found by its place in the array.
_SENT_PG = text(
    "UPDATE deliveries SET status = 'sent', "
    "provider_message_id = (CAST(:message_ids AS varchar[]))"
    "[array_position(CAST(:ids AS integer[]), deliveries.id)], "
    "sent_at = :now, updated_at = :now, error = NULL, "
    "provider = coalesce(:provider, deliveries.provider) "
    "WHERE deliveries.id = ANY(CAST(:ids AS integer[])) "
    f"AND {_NOT_DONE_SQL}"
)


def _record_sent(session: Session, results: list[SendResult], provider_name: str | None,
                 now: datetime) -> None:
    """Mark accepted messages sent, leaving alone a row another worker already moved to
    sent or beyond. The common case of every batch, so it skips loading ORM objects: at
    provider speed that load and the per-object flush cost a worker more CPU than the
    provider calls (bench/fanout.py). On PostgreSQL the group is one UPDATE joined to two
    arrays: as one statement per row (executemany) the driver's per-statement work and
    the server's cost the workers CPU that the provider calls need
    (bench/sms_sender_micro.py prints the CPU per message). Objects of these rows already
    in the session are expired, so they read the new state."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_SENT_PG, {
            "now": now, "provider": provider_name or None,
            "ids": [r.delivery_id for r in results],
            "message_ids": [r.provider_message_id for r in results]})
    else:
        values = {"status": "sent", "provider_message_id": bindparam("d_message"),
                  "sent_at": now, "updated_at": now, "error": None}
        if provider_name:
            values["provider"] = provider_name
        session.execute(_SENT.values(**values),
                        [{"d_id": r.delivery_id, "d_message": r.provider_message_id} for r in results],
                        execution_options={"synchronize_session": False})
    _expire_loaded(session, [result.delivery_id for result in results])


def apply_status(session: Session, provider_message_id: str | None, status: str,
                 error: str | None = None, *, delivery_id: int | None = None) -> bool:
    """True if the status changed a delivery (see `apply_event`). Does not commit."""
    return apply_event(session, provider_message_id, status, error, delivery_id=delivery_id) is not None


def apply_event(session: Session, provider_message_id: str | None, status: str,
                error: str | None = None, *, delivery_id: int | None = None) -> Delivery | None:
    """Apply a provider status callback; True if a delivery changed. Does not commit.

    `status` is ours (sent, delivered, failed) or a provider's (Twilio's MessageStatus,
    SendGrid's event type); unknown statuses are ignored. Statuses only move forward:
    nothing moves a delivery back from delivered, and a late "sent" does not undo
    "failed". SendGrid events name the delivery by `delivery_id` (our custom_args);
    Twilio's status callback URL carries it too (`?d=`). A callback for a row whose
    worker died before recording the provider's answer (still `sending`, or `pending`
    after a timeout) moves it forward and records the provider id: the provider did
    accept it, so no sweep will send it again. Returns the delivery it changed, or None.
    """
    state = STATUS_MAP.get((status or "").strip().lower())
    if state is None:
        return None
    delivery = None
    if delivery_id is not None:
        delivery = session.get(Delivery, delivery_id)
    if delivery is None and provider_message_id:
        delivery = session.scalars(
            select(Delivery).where(Delivery.provider_message_id == provider_message_id).limit(1)
        ).first()
    if delivery is None or _RANK[state] <= _RANK.get(delivery.status, 0):
        return None
    now = utcnow()
    if delivery.status in ("pending", "sending"):
        delivery.sent_at = delivery.sent_at or now
        if provider_message_id and not delivery.provider_message_id:
            delivery.provider_message_id = provider_message_id
    delivery.status = state
    delivery.updated_at = now
    if state == "failed":
        delivery.error = (error or status)[:_ERROR_MAX]
    session.flush()
    return delivery


def campaign_stats(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """Counts per channel per status (every status present, zero or not) plus 'total'."""
    stats: dict[str, dict[str, int]] = {}
    for channel, status, count in session.execute(
        select(Delivery.channel, Delivery.status, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.channel, Delivery.status)
    ):
        per = stats.setdefault(channel, {state: 0 for state in (*DELIVERY_STATES, "total")})
        per[status] = per.get(status, 0) + count
        per["total"] += count
    return stats


def _release(session: Session, deliveries: Iterable[Delivery]) -> None:
    """Put claimed rows that were not sent back to pending (nothing was sent for them)."""
    ids = [d.id for d in deliveries]
    if ids:
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids), Delivery.status == "sending")
            .values(status="pending", updated_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
        session.commit()


# A provider's clock and ours may disagree a little: look for messages this much before a claim.
_CLOCK_SKEW = timedelta(minutes=2)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def send_id(campaign_id: int, batch: int, claimed_at: datetime) -> str:
    """The name of one claim's send, given to the provider with the messages (before the call)
    and found again from the rows alone: the claim time is committed with them."""
    return f"c{int(campaign_id)}-b{int(batch)}-t{int(_aware(claimed_at).timestamp() * 1_000_000)}"


def _take_orphans(session: Session, campaign_id: int, channel: str, batch: int, before: datetime,
                  now: datetime) -> tuple[list[Delivery], dict[int, datetime]]:
    """Take over the batch's rows claimed before `before` and never recorded: (the rows, as
    ORM objects in id order; each one's original claim time). The conditional UPDATE makes a
    second job settling the same batch get none of them."""
    c = Delivery.__table__.c
    found = session.execute(select(c.id, c.claimed_at).where(
        c.campaign_id == campaign_id, c.channel == channel, c.batch == batch, c.status == "sending",
        c.claimed_at < before)).all()
    if not found:
        return [], {}
    claimed = {row.id: _aware(row.claimed_at) for row in found}
    taken = [row.id for row in session.execute(
        update(Delivery.__table__)
        .where(c.id.in_(list(claimed)), c.status == "sending", c.claimed_at < before)
        .values(claimed_at=now, updated_at=now).returning(c.id))]
    session.commit()
    _expire_loaded(session, taken)
    if not taken:
        return [], {}
    rows = list(session.scalars(select(Delivery).where(Delivery.id.in_(taken)).order_by(Delivery.id)
                                .execution_options(populate_existing=True)))
    return rows, {i: claimed[i] for i in taken}


def _restore_claims(session: Session, claimed: dict[int, datetime]) -> None:
    """Give orphans taken over back their original claim time: still orphans, for later."""
    session.execute(update(Delivery.__table__).where(Delivery.__table__.c.id == bindparam("o_id"),
                                                     Delivery.__table__.c.status == "sending")
                    .values(claimed_at=bindparam("o_claimed")),
                    [{"o_id": i, "o_claimed": moment} for i, moment in claimed.items()],
                    execution_options={"synchronize_session": False})
    session.commit()


def _known_ids(session: Session, channel: str, addresses: Iterable[str], since: datetime) -> set[str]:
    """Provider message ids already recorded for these addresses since `since`: a message
    the provider lists under one of them belongs to another delivery."""
    addresses = sorted(set(addresses))
    known: set[str] = set()
    for start in range(0, len(addresses), 500):
        known.update(i for i in session.scalars(select(Delivery.provider_message_id).where(
            Delivery.channel == channel, Delivery.address.in_(addresses[start:start + 500]),
            Delivery.provider_message_id.is_not(None), Delivery.sent_at >= since)) if i)
    return known


def settle_orphans(session: Session, campaign_id: int, channel: str, batch: int, provider,
                   render: Callable, *, orphans_before: datetime, now: datetime | None = None) -> int:
    """Settle the batch's orphans (rows a dead worker claimed before `orphans_before` and
    never recorded) by asking the provider first: those it accepted are recorded sent with
    its message id, the others go back to pending for the claim that follows. How many
    were found already sent.

    `render` is the batch's: one Delivery to an SmsMessage (SMS), or the deliveries to
    EmailBatches (email). Raises RetryLater, the orphans left as they were, when the provider
    cannot tell now (ProviderUnsure); when it cannot tell at all (no `find_sent`, or it
    answers None), the orphans are sent again."""
    now = now or utcnow()
    rows, claimed = _take_orphans(session, campaign_id, channel, batch, orphans_before, now)
    if not rows:
        return 0
    since = min(claimed.values()) - _CLOCK_SKEW
    lookup = getattr(provider, "find_sent", None)
    found: dict[int, str] | None = None
    try:
        if channel == "sms":
            messages = [_render_sms(render, d) for d in rows]
            if lookup is not None:
                found = lookup(messages, since, _known_ids(session, "sms", [m.to for m in messages], since))
        elif lookup is not None:
            found = {}
            by_claim: dict[datetime, list[Delivery]] = {}
            for d in rows:
                by_claim.setdefault(claimed[d.id], []).append(d)
            for moment, group in by_claim.items():
                recipients = [EmailRecipient(d.id, d.address) for d in group]
                answer = lookup(recipients, send_id(campaign_id, batch, moment), moment - _CLOCK_SKEW)
                if answer is None:
                    found = None
                    break
                found.update(answer)
    except ProviderUnsure as exc:
        _restore_claims(session, claimed)
        raise RetryLater(len(rows), f"cannot tell yet whether {len(rows)} message(s) were sent: {exc}") from exc
    except Exception:
        _restore_claims(session, claimed)
        raise
    if found is None:
        log.warning("campaign %s %s batch %s: %s message(s) claimed by a dead worker, and %s cannot tell "
                    "whether it took them: sending them again", campaign_id, channel, batch, len(rows),
                    getattr(provider, "name", provider))
        found = {}
    accepted = [SendResult(d.id, True, found[d.id]) for d in rows if d.id in found]
    if accepted:
        _record_sent(session, accepted, getattr(provider, "name", None), now)
    _release(session, [d for d in rows if d.id not in found])
    session.commit()
    if accepted or rows:
        log.info("campaign %s %s batch %s: %s orphan(s) already at the provider, %s to send again",
                 campaign_id, channel, batch, len(accepted), len(rows) - len(accepted))
    return len(accepted)


def _finish(results: list[SendResult]) -> list[SendResult]:
    retry = [r for r in results if not r.ok and r.retryable]
    if retry:
        waits = [r.retry_after for r in retry if r.retry_after is not None]
        raise RetryLater(len(retry), retry[0].error, max(waits) if waits else None)
    return results


def send_email_batch(session: Session, campaign_id: int, batch: int, provider: EmailProvider,
                     render: Callable[[list[Delivery]], list[EmailBatch]], *,
                     stale_after: timedelta | None = DEFAULT_STALE_AFTER,
                     max_attempts: int | None = None,
                     orphans_before: datetime | None = None, skip: Skip | None = None) -> list[SendResult]:
    """Claim an email batch, render it, send it, record the outcome (safe to run twice).

    `render` turns the claimed deliveries into one EmailBatch per language (or however
    it likes); a claimed delivery it leaves out is recorded as failed, and a recipient it
    adds that was not claimed is not sent. A provider with `send_batches` gets all the
    EmailBatches in one call (mixed languages in one SendGrid request). Raises RetryLater if some rows are pending again.

    With `orphans_before`, the batch's orphans claimed before then are settled first
    (`settle_orphans`). Every EmailBatch carries the claim's `send_id`, so that the provider
    can be asked about this send after a crash. `skip` (see `drop_skipped`) leaves claimed
    rows unsent, recorded failed with its reason.
    """
    if orphans_before is not None:
        settle_orphans(session, campaign_id, "email", batch, provider, render, orphans_before=orphans_before)
    claimed = claim_batch(session, campaign_id, "email", batch, stale_after=stale_after)
    skipped: list[SendResult] = []
    if skip is not None:
        claimed = drop_skipped(session, claimed, skip, skipped)
    if not claimed:
        return skipped
    try:
        batches = render(claimed)
    except Exception:
        _release(session, claimed)
        raise
    name = send_id(campaign_id, batch, claimed[0].claimed_at)  # one claim: one claim time
    for email in batches:
        email.send_id = name
    claimed_ids = {d.id for d in claimed}
    rendered: set[int] = set()
    results: list[SendResult] = skipped
    emails: list[EmailBatch] = []
    for email in batches:
        recipients = [r for r in email.recipients
                      if r.delivery_id in claimed_ids and r.delivery_id not in rendered]
        if len(recipients) != len(email.recipients):
            log.warning("render returned %d unclaimed or repeated recipient(s); not sent",
                        len(email.recipients) - len(recipients))
        if not recipients:
            continue
        rendered.update(r.delivery_id for r in recipients)
        email.recipients = recipients
        emails.append(email)
    # All the batch's languages and zones together: a provider with `send_batches` (SendGrid's
    # sections) puts them in one request; others get one call per EmailBatch.
    together = getattr(provider, "send_batches", None)
    for group in ([emails] if together is not None and emails else [[e] for e in emails]):
        recipients = [r for email in group for r in email.recipients]
        try:
            outcome = together(group) if together is not None else provider.send_batch(group[0])
        except Exception as exc:  # a provider must not raise; if it does, try again later
            log.exception("email provider %s raised", getattr(provider, "name", provider))
            outcome = [SendResult(r.delivery_id, False, None, f"provider error: {exc}", True)
                       for r in recipients]
        answered = {r.delivery_id for r in outcome}
        outcome = [r for r in outcome if r.delivery_id in claimed_ids] + [
            SendResult(r.delivery_id, False, None, "no result from provider", True)
            for r in recipients if r.delivery_id not in answered]
        record_results(session, outcome, getattr(provider, "name", None), max_attempts=max_attempts)
        session.commit()
        results.extend(outcome)
    missing = [SendResult(i, False, None, "not rendered", False) for i in sorted(claimed_ids - rendered)]
    if missing:
        record_results(session, missing)
        session.commit()
        results.extend(missing)
    return _finish(results)


def send_sms_batch(session: Session, campaign_id: int, batch: int, provider: SmsProvider,
                   render: Callable[[Delivery], SmsMessage], *,
                   stale_after: timedelta | None = DEFAULT_STALE_AFTER,
                   max_attempts: int | None = None, concurrency: int = 1,
                   record_every: int = 50, record_seconds: float = 0.5,
                   claim_slice: int | None = None,
                   orphans_before: datetime | None = None, skip: Skip | None = None) -> list[SendResult]:
    """Claim an SMS batch and send each message, recording the outcomes as they come.

    A provider that says it is `thread_safe` gets up to `concurrency` requests in flight (a
    provider call is mostly waiting on the network: one at a time a worker reaches a
    fraction of what the provider takes). The batch is then claimed a slice at a time
    (`claim_slice` rows, default four per call in flight, at least 50), each slice rendered
    whole before any of it is sent, and the next slice claimed while the current one is on
    the wire, so the sending threads never wait for the database and a large batch costs
    no more per message than a small one. Outcomes are recorded in groups, every
    `record_every` results or `record_seconds`, in the calling thread (the session never
    leaves it); a group of 50 is one statement and one commit, a slice's worth, where
    groups of 20 cost the database and the thread half as much again per message. The
    provider's own throughput limiter still paces every call. A render error puts the
    unsent slices back to pending and raises; what was already sent stays recorded.

    Other providers (the outbox, which writes through this thread's session) get the whole
    batch claimed at once and send one at a time, recording each outcome as it comes.

    A worker that dies leaves in `sending` at most two slices plus one group of answers:
    the Twilio status callback (`?d=`) moves those sent to sent; the next job on the batch,
    given `orphans_before`, asks the provider about the others before sending them again
    (`settle_orphans`). The rest of the batch is still pending. Raises RetryLater if some
    rows are pending again. `skip` (see `drop_skipped`) leaves claimed rows unsent, recorded
    failed with its reason.
    """
    if orphans_before is not None:
        settle_orphans(session, campaign_id, "sms", batch, provider, render, orphans_before=orphans_before)
    name = getattr(provider, "name", None)
    workers = max(1, int(concurrency or 1)) if getattr(provider, "thread_safe", False) else 1
    results: list[SendResult] = []
    if workers == 1:
        claimed = claim_batch(session, campaign_id, "sms", batch, stale_after=stale_after)
        if skip is not None:
            claimed = drop_skipped(session, claimed, skip, results)
        for index, delivery in enumerate(claimed):
            try:
                message = _render_sms(render, delivery)
            except Exception:
                _release(session, claimed[index:])
                raise
            result = _send_sms(provider, message)
            record_results(session, [result], name, max_attempts=max_attempts)
            session.commit()
            results.append(result)
        return _finish(results)

    size = claim_slice or max(50, 4 * workers)
    waiting: list[SendResult] = []
    last = time.monotonic()

    def claim(after_id: int | None) -> list:
        return claim_rows(session, campaign_id, "sms", batch, stale_after=stale_after,
                          after_id=after_id, limit=size)

    def record() -> None:
        nonlocal last
        if waiting:
            record_results(session, waiting, name, max_attempts=max_attempts)
            session.commit()
            results.extend(waiting)
            waiting.clear()
        last = time.monotonic()

    calls = sending_threads(workers).round(functools.partial(_send_sms, provider))

    def collect(down_to: int) -> None:
        """Record answers until at most `down_to` calls are still out. The thread sleeps
        until enough answers are in to get there or to fill a record group (or until the
        group is due), instead of waking for each answer."""
        while calls.out > down_to:
            wanted = min(calls.out - down_to, max(1, record_every - len(waiting)))
            waiting.extend(calls.take(wanted, timeout=max(0.01, record_seconds - (time.monotonic() - last))))
            if len(waiting) >= record_every or time.monotonic() - last >= record_seconds:
                record()

    def take(after_id: int | None) -> tuple[int | None, list[SmsMessage]]:
        """Claim the next slice and render it at once, while its rows are fresh in the
        session (a commit may expire them): (its last id or None, its messages). A slice
        that `skip` empties is followed by the next, so the batch is not left half done."""
        while True:
            claimed = claim(after_id)
            if not claimed:
                return None, []
            after_id = claimed[-1].id
            if skip is not None:
                claimed = drop_skipped(session, claimed, skip, results)
            if claimed:
                break
        try:
            return after_id, [_render_sms(render, delivery) for delivery in claimed]
        except Exception:
            _release(session, claimed)
            raise

    try:
        last_id, messages = take(None)
        while messages:
            calls.send(messages)
            try:
                last_id, messages = take(last_id)  # while the current slice is on the wire
            except Exception:  # a render error: record what was sent, then give up
                collect(0)
                record()
                raise
            # keep the threads busy: the next slice goes in while `workers` calls are out
            collect(workers if messages else 0)
        record()
    except BaseException:
        # On an error here (the database gone), calls not yet started are not made: their
        # rows stay `sending` for the sweep. Calls in flight finish; they were claimed.
        calls.cancel()
        raise
    finally:
        calls.finish()
    return _finish(results)


# Given claimed rows, the ids of those that must not be sent after all, each with the reason
# recorded as its error (a follow-up to someone who has answered since it was prepared).
Skip = Callable[[list], dict[int, str]]


def drop_skipped(session: Session, claimed: list, skip: Skip, results: list[SendResult]) -> list:
    """The claimed rows `skip` lets through. The others are recorded failed with the reason
    `skip` gives, before any provider call, and committed; their results join `results`."""
    if not claimed:
        return claimed
    reasons = skip(claimed)
    if not reasons:
        return claimed
    dropped = [SendResult(row.id, False, None, reasons[row.id], False) for row in claimed if row.id in reasons]
    record_results(session, dropped)
    session.commit()
    results.extend(dropped)
    return [row for row in claimed if row.id not in reasons]


def _render_sms(render: Callable[[Delivery], SmsMessage], delivery: Delivery) -> SmsMessage:
    message = render(delivery)
    if message.delivery_id != delivery.id:
        message.delivery_id = delivery.id
    return message


def _send_sms(provider: SmsProvider, message: SmsMessage) -> SendResult:
    try:
        return provider.send(message)
    except Exception as exc:  # a provider must not raise; if it does, try again later
        log.exception("SMS provider %s raised", getattr(provider, "name", provider))
        return SendResult(message.delivery_id, False, None, f"provider error: {exc}", True)
