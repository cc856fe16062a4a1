"""SMS batches with several requests in flight per worker: every delivery still reaches the
provider exactly once, outcomes are recorded in groups, and the throughput cap still holds."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from devtools.fake_providers import FakeTwilio
from notify.delivery import create_deliveries, send_sms_batch
from notify.errors import RetryLater
from notify.models import Delivery, OutboxMessage
from notify.providers.base import SendResult, SmsMessage
from notify.providers.outbox import OutboxSms
from notify.providers.twilio_provider import TwilioSms
from notify.throttle import RateLimiter

SID, TOKEN = "AC" + "1" * 32, "secret-token"


def sms_rows(n, start=1):
    return [(i, "sms", f"+3361234{i:04d}", "fr" if i % 2 else "en") for i in range(start, start + n)]


def render(delivery):
    return SmsMessage(delivery.id, delivery.address, f"Alerte {delivery.language}")


class OverlapProvider:
    """Thread-safe provider that holds each call until `meet` calls are in flight together."""

    name = "overlap"
    thread_safe = True

    def __init__(self, meet: int):
        self.barrier = threading.Barrier(meet, timeout=10)
        self.sent: list[int] = []
        self.threads: set[int] = set()
        self.lock = threading.Lock()

    def send(self, message):
        with self.lock:
            self.sent.append(message.delivery_id)
            self.threads.add(threading.get_ident())
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the last few calls of a batch smaller than a multiple of `meet`
        return SendResult(message.delivery_id, True, f"SM{message.delivery_id}")


def statuses(session):
    session.expire_all()
    return Counter(d.status for d in session.scalars(select(Delivery)))


def test_several_calls_are_in_flight_together_and_each_delivery_is_sent_and_recorded_once(session):
    create_deliveries(session, 1, sms_rows(24), {"sms": 24})
    session.commit()
    provider = OverlapProvider(meet=8)  # would wait for 8 calls at once: fails unless concurrent
    results = send_sms_batch(session, 1, 0, provider, render, concurrency=8)
    assert len(results) == 24 and all(r.ok for r in results)
    assert sorted(provider.sent) == sorted(d.id for d in session.scalars(select(Delivery)))
    assert provider.barrier.broken is False and len(provider.threads) == 8
    assert statuses(session) == {"sent": 24}
    assert {d.provider_message_id for d in session.scalars(select(Delivery))} == {f"SM{i}" for i in provider.sent}


def test_running_the_same_concurrent_batch_again_sends_nothing(session):
    create_deliveries(session, 1, sms_rows(10), {"sms": 10})
    session.commit()
    provider = OverlapProvider(meet=2)
    send_sms_batch(session, 1, 0, provider, render, concurrency=4)
    assert send_sms_batch(session, 1, 0, provider, render, concurrency=4) == []
    assert Counter(provider.sent) == Counter({d.id: 1 for d in session.scalars(select(Delivery))})


def test_through_the_twilio_sdk_each_delivery_reaches_the_fake_exactly_once(session):
    with FakeTwilio(SID, TOKEN) as twilio:
        sms = TwilioSms(SID, TOKEN, from_number="+15005550006", base_url=twilio.base_url,
                        status_callback="https://consular.test/webhooks/twilio/status")
        create_deliveries(session, 1, sms_rows(60), {"sms": 30})
        session.commit()
        for batch in (0, 1):
            send_sms_batch(session, 1, batch, sms, render, concurrency=8, record_every=7)
        ids = {str(d.id) for d in session.scalars(select(Delivery))}
        assert Counter(twilio.delivery_ids()) == Counter({i: 1 for i in ids})
        assert statuses(session) == {"sent": 60}
        sids = {m["sid"] for m in twilio.messages}
        assert {d.provider_message_id for d in session.scalars(select(Delivery))} == sids


def test_a_provider_failing_a_third_of_calls_still_delivers_each_message_once(session):
    with FakeTwilio(SID, TOKEN, failure_rate=0.3, seed=3, failures=(429, 500), retry_after="0") as twilio:
        sms = TwilioSms(SID, TOKEN, from_number="+15005550006", base_url=twilio.base_url,
                        status_callback="https://consular.test/webhooks/twilio/status")
        create_deliveries(session, 1, sms_rows(40), {"sms": 40})
        session.commit()
        retries = 0
        for _ in range(30):
            try:
                send_sms_batch(session, 1, 0, sms, render, concurrency=8)
                break
            except RetryLater:
                retries += 1
        assert retries >= 1 and set(twilio.injected) == {429, 500}
        assert statuses(session) == {"sent": 40}
        ids = {str(d.id) for d in session.scalars(select(Delivery))}
        assert Counter(twilio.delivery_ids()) == Counter({i: 1 for i in ids})


def test_the_throughput_cap_gives_every_concurrent_call_its_own_slot(session):
    waits: list[float] = []
    lock = threading.Lock()

    def record_wait(seconds):
        with lock:
            waits.append(round(seconds, 6))

    # A frozen clock: each reservation must come 0.1 s after the previous one, so 20 calls
    # at 10 per second are spread over 2 seconds however many threads ask at once.
    limiter = RateLimiter(10, clock=lambda: 1000.0, sleep=record_wait)

    class Capped(OverlapProvider):
        def send(self, message):
            limiter.acquire()
            return super().send(message)

    create_deliveries(session, 1, sms_rows(20), {"sms": 20})
    session.commit()
    send_sms_batch(session, 1, 0, Capped(meet=4), render, concurrency=4)
    assert sorted(waits) == [round(0.1 * i, 6) for i in range(1, 20)]


def test_the_twilio_provider_waits_for_its_limiter_on_every_concurrent_call(session):
    with FakeTwilio(SID, TOKEN) as twilio:
        acquired = []
        lock = threading.Lock()

        class Counting:
            def acquire(self, calls=1):
                with lock:
                    acquired.append(threading.get_ident())
                return 0.0

        sms = TwilioSms(SID, TOKEN, from_number="+15005550006", base_url=twilio.base_url, limiter=Counting())
        create_deliveries(session, 1, sms_rows(16), {"sms": 16})
        session.commit()
        send_sms_batch(session, 1, 0, sms, render, concurrency=4)
        assert len(acquired) == 16 == len(twilio.messages)


def test_results_are_recorded_in_groups_not_one_commit_per_message(session, monkeypatch):
    import notify.delivery as delivery

    groups = []
    original = delivery.record_results

    def spy(session_, results, *args, **kwargs):
        results = list(results)
        groups.append(len(results))
        return original(session_, results, *args, **kwargs)

    monkeypatch.setattr(delivery, "record_results", spy)
    create_deliveries(session, 1, sms_rows(40), {"sms": 40})
    session.commit()
    send_sms_batch(session, 1, 0, OverlapProvider(meet=1), render, concurrency=4, record_every=10,
                   record_seconds=3600)
    assert sum(groups) == 40 and max(groups) >= 10 and len(groups) < 40


def test_a_provider_that_is_not_thread_safe_sends_one_at_a_time_in_the_calling_thread(session_factory):
    with session_factory() as s:
        create_deliveries(s, 1, sms_rows(5), {"sms": 5})
        s.commit()
        send_sms_batch(s, 1, 0, OutboxSms(session_factory), render, concurrency=8)
        assert len(list(s.scalars(select(OutboxMessage)))) == 5
        assert statuses(s) == {"sent": 5}


def render_failing_at(recipient_id):
    """`render`, except that the message of this recipient raises (a template error)."""
    def broken(delivery):
        if delivery.recipient_id == recipient_id:
            raise RuntimeError("template error")
        return render(delivery)
    return broken


def test_a_render_error_releases_the_whole_batch_and_sends_nothing(session):
    create_deliveries(session, 1, sms_rows(6), {"sms": 6})
    session.commit()
    provider = OverlapProvider(meet=1)

    with pytest.raises(RuntimeError):
        send_sms_batch(session, 1, 0, provider, render_failing_at(4), concurrency=4)
    assert provider.sent == [] and statuses(session) == {"pending": 6}


def test_a_provider_that_raises_leaves_its_rows_pending_for_a_retry(session):
    class Exploding(OverlapProvider):
        def send(self, message):
            if message.delivery_id % 2:
                raise ConnectionError("boom")
            return super().send(message)

    create_deliveries(session, 1, sms_rows(6), {"sms": 6})
    session.commit()
    with pytest.raises(RetryLater) as err:
        send_sms_batch(session, 1, 0, Exploding(meet=1), render, concurrency=3)
    assert err.value.pending == 3
    assert statuses(session) == {"sent": 3, "pending": 3}


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing of the batch's code runs after it."""


def test_a_large_batch_is_claimed_a_slice_at_a_time_so_a_dying_worker_leaves_the_rest_pending(session):
    create_deliveries(session, 1, sms_rows(40), {"sms": 40})
    session.commit()

    class DiesAtTheTenthCall(OverlapProvider):
        def send(self, message):
            if len(self.sent) >= 9:
                raise WorkerKilled()
            return super().send(message)

    provider = DiesAtTheTenthCall(meet=1)
    with pytest.raises(WorkerKilled):
        send_sms_batch(session, 1, 0, provider, render, concurrency=2, claim_slice=5)
    found = statuses(session)
    # claimed: the ten calls made plus at most the slice being sent and the next one
    assert found["sending"] + found["sent"] <= 10 + 2 * 5
    assert found["pending"] >= 40 - (10 + 2 * 5) and sum(found.values()) == 40


def test_every_slice_of_a_large_batch_is_sent_once_and_recorded(session):
    create_deliveries(session, 1, sms_rows(23), {"sms": 23})
    session.commit()
    provider = OverlapProvider(meet=1)
    results = send_sms_batch(session, 1, 0, provider, render, concurrency=3, claim_slice=4)
    assert sorted(provider.sent) == sorted(r.delivery_id for r in results)
    assert len(provider.sent) == len(set(provider.sent)) == 23
    assert statuses(session) == {"sent": 23}


def test_a_render_error_in_a_later_slice_keeps_what_was_sent_and_releases_the_rest(session):
    create_deliveries(session, 1, sms_rows(12), {"sms": 12})
    session.commit()
    provider = OverlapProvider(meet=1)

    with pytest.raises(RuntimeError):
        send_sms_batch(session, 1, 0, provider, render_failing_at(9), concurrency=2, claim_slice=4)
    assert sorted(provider.sent) == list(range(1, 9))  # two whole slices went out, once each
    assert statuses(session) == {"sent": 8, "pending": 4}
