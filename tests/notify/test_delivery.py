"""Delivery rows: created once, claimed once, sent once, statuses only move forward."""
from collections import Counter
from datetime import timedelta, timezone

import pytest
from sqlalchemy import func, select

from notify.delivery import (
    apply_status,
    campaign_stats,
    claim_batch,
    claim_rows,
    create_deliveries,
    record_results,
    send_email_batch,
    send_sms_batch,
)
from notify.errors import NotifyError, RetryLater
from notify.models import Delivery, OutboxMessage
from notify.providers.base import EmailBatch, EmailRecipient, SendResult, SmsMessage
from notify.providers.outbox import OutboxEmail, OutboxSms

SIZES = {"email": 2, "sms": 3}


def rows(n, channel="email"):
    return [(i, channel, f"t{i}@example.org" if channel == "email" else f"+3361234{i:04d}", "fr")
            for i in range(1, n + 1)]


def count(session):
    return session.scalar(select(func.count()).select_from(Delivery))


def test_create_deliveries_numbers_rows_into_batches_per_channel(session):
    batches = create_deliveries(session, 1, rows(5) + rows(4, "sms"), SIZES)
    session.commit()
    assert batches == {"email": 3, "sms": 2}
    emails = session.scalars(select(Delivery).where(Delivery.channel == "email").order_by(Delivery.recipient_id))
    assert [d.batch for d in emails] == [0, 0, 1, 1, 2]


def test_create_deliveries_twice_creates_no_duplicates(session):
    create_deliveries(session, 1, rows(5), SIZES)
    session.commit()
    assert create_deliveries(session, 1, rows(5), SIZES) == {"email": 3, "sms": 0}
    session.commit()
    assert count(session) == 5


def test_create_deliveries_again_leaves_existing_rows_untouched(session):
    create_deliveries(session, 1, rows(2), SIZES)
    session.commit()
    first = session.scalars(select(Delivery)).first()
    first.status = "sent"
    session.commit()
    create_deliveries(session, 1, [(first.recipient_id, "email", "changed@example.org", "en")], SIZES)
    session.commit()
    session.refresh(first)
    assert (first.status, first.address, first.language) == ("sent", "t1@example.org", "fr")


def test_recipients_added_later_go_into_new_batches(session):
    create_deliveries(session, 1, rows(3), SIZES)  # batches 0 (2 rows) and 1 (1 row)
    session.commit()
    assert create_deliveries(session, 1, rows(5), SIZES) == {"email": 3, "sms": 0}
    new = session.scalars(select(Delivery.batch).where(Delivery.recipient_id > 3))
    assert list(new) == [2, 2]


def test_same_recipient_twice_in_the_input_gets_one_row(session):
    create_deliveries(session, 1, rows(1) + rows(1), SIZES)
    assert count(session) == 1


def test_the_same_recipient_in_two_campaigns_gets_a_row_in_each(session):
    create_deliveries(session, 1, rows(1), SIZES)
    create_deliveries(session, 2, rows(1), SIZES)
    assert count(session) == 2


def test_recipient_without_address_is_recorded_failed_outside_any_batch(session):
    batches = create_deliveries(session, 1, [(1, "sms", None, "en"), (2, "sms", " ", "en")], SIZES)
    assert batches == {"email": 0, "sms": 0}
    assert {(d.status, d.batch, d.error) for d in session.scalars(select(Delivery))} == {("failed", -1, "no address")}


def test_unknown_channel_is_refused(session):
    with pytest.raises(NotifyError) as err:
        create_deliveries(session, 1, [(1, "fax", "123", "en")], SIZES)
    assert err.value.params == {"channel": "fax"}
    assert count(session) == 0


@pytest.mark.parametrize("size", [0, -1, "10", None])
def test_batch_size_must_be_a_positive_whole_number(session, size):
    with pytest.raises(NotifyError):
        create_deliveries(session, 1, rows(1), {"email": size})


def test_second_claim_of_the_same_batch_gets_nothing(session_factory):
    with session_factory() as s:
        create_deliveries(s, 1, rows(4), SIZES)
        s.commit()
    with session_factory() as a, session_factory() as b:
        first = claim_batch(a, 1, "email", 0)
        second = claim_batch(b, 1, "email", 0)
    assert [d.recipient_id for d in first] == [1, 2]
    assert second == []


def test_claim_marks_rows_sending_and_counts_the_attempt(session):
    create_deliveries(session, 1, rows(2), SIZES)
    session.commit()
    claimed = claim_batch(session, 1, "email", 0)
    assert {(d.status, d.attempts) for d in claimed} == {("sending", 1)}
    assert all(d.claimed_at is not None for d in claimed)


def test_claim_only_takes_its_own_campaign_channel_and_batch(session):
    create_deliveries(session, 1, rows(4) + rows(3, "sms"), SIZES)
    create_deliveries(session, 2, rows(4), SIZES)
    session.commit()
    claimed = claim_batch(session, 1, "email", 1)
    assert [(d.campaign_id, d.channel, d.batch) for d in claimed] == [(1, "email", 1)] * 2


def test_rows_stuck_in_sending_are_reclaimed_after_the_stale_time(session):
    create_deliveries(session, 1, rows(2), SIZES)
    session.commit()
    claimed = claim_batch(session, 1, "email", 0)
    claimed_at = claimed[0].claimed_at  # SQLite gives it back naive, in UTC
    if claimed_at.tzinfo is None:
        claimed_at = claimed_at.replace(tzinfo=timezone.utc)
    later = claimed_at + timedelta(minutes=5)
    assert claim_batch(session, 1, "email", 0, stale_after=timedelta(minutes=10), now=later) == []
    much_later = later + timedelta(minutes=10)
    again = claim_batch(session, 1, "email", 0, stale_after=timedelta(minutes=10), now=much_later)
    assert [d.attempts for d in again] == [2, 2]
    assert claim_batch(session, 1, "email", 0, stale_after=None, now=much_later + timedelta(days=1)) == []


def test_record_results_marks_sent_pending_again_or_failed(session):
    create_deliveries(session, 1, rows(2) + rows(1, "sms"), {"email": 5, "sms": 5})
    session.commit()
    a, b = claim_batch(session, 1, "email", 0)
    (c,) = claim_batch(session, 1, "sms", 0)
    record_results(session, [SendResult(a.id, True, "X.1"), SendResult(b.id, False, None, "429", True),
                             SendResult(c.id, False, None, "21610 opted out", False)], "test")
    session.commit()
    assert (a.status, a.provider_message_id, a.provider, a.sent_at is not None) == ("sent", "X.1", "test", True)
    assert (b.status, b.error) == ("pending", "429")
    assert (c.status, c.error) == ("failed", "21610 opted out")


def test_retryable_failure_fails_for_good_after_max_attempts(session):
    create_deliveries(session, 1, rows(1), SIZES)
    session.commit()
    (d,) = claim_batch(session, 1, "email", 0)
    record_results(session, [SendResult(d.id, False, None, "503", True)], max_attempts=1)
    assert d.status == "failed"


def test_status_callbacks_move_forward_and_never_back_from_delivered(session):
    create_deliveries(session, 1, rows(1, "sms"), SIZES)
    session.commit()
    (d,) = claim_batch(session, 1, "sms", 0)
    record_results(session, [SendResult(d.id, True, "SM1")])
    assert apply_status(session, "SM1", "delivered") is True
    assert apply_status(session, "SM1", "failed", "30003") is False
    assert apply_status(session, "SM1", "sent") is False
    assert d.status == "delivered" and d.error is None


def test_late_sent_callback_does_not_undo_a_failure(session):
    create_deliveries(session, 1, rows(1, "sms"), SIZES)
    session.commit()
    (d,) = claim_batch(session, 1, "sms", 0)
    record_results(session, [SendResult(d.id, True, "SM1")])
    assert apply_status(session, "SM1", "undelivered", "30005 unknown destination")
    assert not apply_status(session, "SM1", "sent")
    assert (d.status, d.error) == ("failed", "30005 unknown destination")


def test_status_by_delivery_id_for_sendgrid_events(session):
    create_deliveries(session, 1, rows(1), SIZES)
    session.commit()
    (d,) = claim_batch(session, 1, "email", 0)
    record_results(session, [SendResult(d.id, True, "abc.1")])
    assert apply_status(session, None, "bounce", "550 no such user", delivery_id=d.id)
    assert d.status == "failed"


@pytest.mark.parametrize("message_id, status", [("SM-unknown", "delivered"), ("SM1", "warming-up"),
                                                (None, "delivered"), ("SM1", "")])
def test_unknown_messages_or_statuses_change_nothing(session, message_id, status):
    create_deliveries(session, 1, rows(1, "sms"), SIZES)
    session.commit()
    (d,) = claim_batch(session, 1, "sms", 0)
    record_results(session, [SendResult(d.id, True, "SM1")])
    assert apply_status(session, message_id, status) is False
    assert d.status == "sent"


def test_campaign_stats_count_every_status_per_channel(session):
    create_deliveries(session, 1, rows(3) + rows(1, "sms") + [(9, "sms", None, "en")], SIZES)
    create_deliveries(session, 2, rows(7), SIZES)
    session.commit()
    a, b = claim_batch(session, 1, "email", 0)
    record_results(session, [SendResult(a.id, True, "x")])
    stats = campaign_stats(session, 1)
    assert stats["email"] == {"pending": 1, "sending": 1, "sent": 1, "delivered": 0, "failed": 0, "total": 3}
    assert stats["sms"]["pending"] == 1 and stats["sms"]["failed"] == 1 and stats["sms"]["total"] == 2


# --- the whole send path, with the outbox as provider ------------------------------------

def render_email(deliveries):
    return [EmailBatch("fr", "Alerte -name-", "Bonjour -name-", None,
                       [EmailRecipient(d.id, d.address, {"name": f"N{d.recipient_id}"}) for d in deliveries])]


def render_sms(delivery):
    return SmsMessage(delivery.id, delivery.address, "Répondez 1 ou 2")


def test_send_email_batch_twice_sends_each_message_once(session_factory):
    with session_factory() as s:
        create_deliveries(s, 1, rows(2), SIZES)
        s.commit()
        provider = OutboxEmail(session_factory)
        first = send_email_batch(s, 1, 0, provider, render_email)
        second = send_email_batch(s, 1, 0, provider, render_email)
        assert [r.ok for r in first] == [True, True] and second == []
        outbox = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        assert [(m.to, m.subject, m.body) for m in outbox] == [
            ("t1@example.org", "Alerte N1", "Bonjour N1"), ("t2@example.org", "Alerte N2", "Bonjour N2")]
        assert {d.status for d in s.scalars(select(Delivery))} == {"sent"}
        assert {d.provider_message_id for d in s.scalars(select(Delivery))} == {f"outbox-{m.id}" for m in outbox}


class FlakyEmail:
    name = "flaky"

    def __init__(self):
        self.calls = 0

    def send_batch(self, batch):
        self.calls += 1
        if self.calls == 1:
            return [SendResult(r.delivery_id, False, None, "SendGrid 429", True) for r in batch.recipients]
        return [SendResult(r.delivery_id, True, f"ok.{r.delivery_id}") for r in batch.recipients]


def test_retryable_failure_leaves_rows_pending_and_asks_for_a_retry(session):
    create_deliveries(session, 1, rows(2), SIZES)
    session.commit()
    provider = FlakyEmail()
    with pytest.raises(RetryLater) as err:
        send_email_batch(session, 1, 0, provider, render_email)
    assert err.value.pending == 2
    assert {d.status for d in session.scalars(select(Delivery))} == {"pending"}
    results = send_email_batch(session, 1, 0, provider, render_email)
    assert [r.ok for r in results] == [True, True]
    assert {(d.status, d.attempts, d.provider) for d in session.scalars(select(Delivery))} == {("sent", 2, "flaky")}


def test_delivery_left_out_by_render_is_failed_and_not_sent(session):
    create_deliveries(session, 1, rows(2), SIZES)
    session.commit()
    results = send_email_batch(session, 1, 0, OutboxEmail(lambda: session),
                               lambda ds: render_email(ds[:1]))
    assert sorted((r.ok, r.error) for r in results) == [(False, "not rendered"), (True, None)]


def test_render_error_releases_the_claim_so_nothing_is_lost(session):
    create_deliveries(session, 1, rows(2), SIZES)
    session.commit()

    def broken(_):
        raise KeyError("template")

    with pytest.raises(KeyError):
        send_email_batch(session, 1, 0, OutboxEmail(lambda: session), broken)
    assert {d.status for d in session.scalars(select(Delivery))} == {"pending"}


def test_send_sms_batch_records_each_outcome(session_factory):
    with session_factory() as s:
        create_deliveries(s, 1, rows(3, "sms"), SIZES)
        s.commit()
        results = send_sms_batch(s, 1, 0, OutboxSms(session_factory), render_sms)
        assert [r.ok for r in results] == [True, True, True]
        assert send_sms_batch(s, 1, 0, OutboxSms(session_factory), render_sms) == []
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_provider_that_raises_is_treated_as_a_temporary_failure(session):
    class Broken:
        name = "broken"

        def send(self, message):
            raise RuntimeError("boom")

    create_deliveries(session, 1, rows(1, "sms"), SIZES)
    session.commit()
    with pytest.raises(RetryLater):
        send_sms_batch(session, 1, 0, Broken(), render_sms)
    (d,) = session.scalars(select(Delivery))
    assert (d.status, d.error) == ("pending", "provider error: boom")


def test_concurrent_claims_never_hand_out_a_row_twice(session_factory):
    import threading

    with session_factory() as s:
        create_deliveries(s, 1, rows(60), {"email": 60})
        s.commit()
    claimed: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker():
        try:
            with session_factory() as s:
                start.wait()
                claimed.append([d.id for d in claim_batch(s, 1, "email", 0)])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [i for got in claimed for i in got]
    assert len(ids) == len(set(ids)) == 60


def test_a_limited_claim_takes_the_lowest_ids_above_after_id_and_leaves_the_rest_pending(session):
    create_deliveries(session, 1, rows(6), {"email": 6})
    session.commit()
    first = claim_batch(session, 1, "email", 0, limit=2)
    second = claim_batch(session, 1, "email", 0, after_id=first[-1].id, limit=2)
    assert [d.recipient_id for d in first] == [1, 2]
    assert [d.recipient_id for d in second] == [3, 4]
    session.expire_all()
    assert Counter(d.status for d in session.scalars(select(Delivery))) == {"sending": 4, "pending": 2}


def test_a_limited_claim_walking_up_the_ids_does_not_take_back_a_row_put_back_to_pending(session):
    create_deliveries(session, 1, rows(4), {"email": 4})
    session.commit()
    first = claim_batch(session, 1, "email", 0, limit=2)
    record_results(session, [SendResult(first[0].id, False, None, "429", True)])
    session.commit()
    second = claim_batch(session, 1, "email", 0, after_id=first[-1].id, limit=2)
    assert [d.recipient_id for d in second] == [3, 4]
    assert claim_batch(session, 1, "email", 0, after_id=second[-1].id, limit=2) == []


def test_two_limited_claims_from_two_workers_never_share_a_row(session_factory):
    with session_factory() as s:
        create_deliveries(s, 1, rows(5), {"email": 5})
        s.commit()
    with session_factory() as a, session_factory() as b:
        first = claim_batch(a, 1, "email", 0, limit=3)
        second = claim_batch(b, 1, "email", 0, limit=3)
    assert [d.recipient_id for d in first] == [1, 2, 3]
    assert [d.recipient_id for d in second] == [4, 5]


def test_a_claim_without_objects_returns_every_column_of_its_rows_in_id_order(session):
    create_deliveries(session, 1, rows(3, "sms"), {"sms": 3})
    session.commit()
    claimed = claim_rows(session, 1, "sms", 0, limit=2)
    assert [(r.recipient_id, r.address, r.language, r.status, r.attempts) for r in claimed] == [
        (1, "+33612340001", "fr", "sending", 1), (2, "+33612340002", "fr", "sending", 1)]
    assert claimed[0].id < claimed[1].id and claimed[0].claimed_at is not None


def test_objects_already_loaded_read_the_claim_made_without_objects(session):
    create_deliveries(session, 1, rows(1, "sms"), SIZES)
    session.commit()
    loaded = session.scalars(select(Delivery)).one()
    assert loaded.status == "pending"
    claim_rows(session, 1, "sms", 0)
    assert (loaded.status, loaded.attempts) == ("sending", 1)


def test_objects_already_loaded_read_the_sent_record_made_without_objects(session):
    create_deliveries(session, 1, rows(2, "sms"), {"sms": 2})
    session.commit()
    first, second = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    claim_rows(session, 1, "sms", 0)
    record_results(session, [SendResult(first.id, True, "SM-first")], "twilio")
    assert (first.status, first.provider_message_id) == ("sent", "SM-first")
    assert (second.status, second.provider_message_id) == ("sending", None)


def test_a_group_of_accepted_messages_gets_each_its_own_message_id(session):
    create_deliveries(session, 1, rows(5, "sms"), {"sms": 5})
    session.commit()
    claimed = claim_batch(session, 1, "sms", 0)
    results = [SendResult(d.id, True, f"SM{d.recipient_id}") for d in reversed(claimed)]
    record_results(session, results, "twilio")
    session.commit()
    session.expire_all()
    assert {(d.recipient_id, d.status, d.provider_message_id, d.provider)
            for d in session.scalars(select(Delivery))} == {
        (i, "sent", f"SM{i}", "twilio") for i in range(1, 6)}


def test_an_accepted_message_already_delivered_or_failed_is_not_moved_back_to_sent(session):
    create_deliveries(session, 1, rows(2, "sms"), {"sms": 2})
    session.commit()
    a, b = claim_batch(session, 1, "sms", 0)
    apply_status(session, None, "delivered", delivery_id=a.id)
    apply_status(session, None, "failed", delivery_id=b.id)
    session.commit()
    record_results(session, [SendResult(a.id, True, "SM-late-a"), SendResult(b.id, True, "SM-late-b")])
    session.commit()
    session.expire_all()
    assert {(d.status, d.provider_message_id) for d in session.scalars(select(Delivery))} == {
        ("delivered", None), ("failed", None)}
