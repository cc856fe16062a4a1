"""Pacing ourselves under the providers' caps, and waiting well before a retry."""
from __future__ import annotations

import random
import threading

import fakeredis
import pytest

from notify.retry import parse_retry_after, retry_delay
from notify.throttle import RateLimiter, limiter_for


class Clock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_in_process_limiter_spaces_calls_at_the_configured_rate():
    clock = Clock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits == pytest.approx([0, 0.25, 0.25, 0.25, 0.25])
    assert clock.now == pytest.approx(101.0)


def test_in_process_limiter_allows_a_burst_then_paces():
    clock = Clock()
    limiter = RateLimiter(10, burst=3, clock=clock, sleep=clock.sleep)
    assert [limiter.reserve() for _ in range(3)] == [0, 0, 0]
    assert limiter.reserve() == pytest.approx(0.1)


def test_an_idle_limiter_does_not_bank_more_than_its_burst():
    clock = Clock()
    limiter = RateLimiter(1, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 3600
    assert [limiter.reserve() for _ in range(2)] == pytest.approx([0, 1.0])


def test_redis_limiter_is_shared_by_every_client_of_the_same_key():
    server = fakeredis.FakeServer()
    first = RateLimiter(2, redis=fakeredis.FakeStrictRedis(server=server), key="twilio")
    second = RateLimiter(2, redis=fakeredis.FakeStrictRedis(server=server), key="twilio")
    other = RateLimiter(2, redis=fakeredis.FakeStrictRedis(server=server), key="sendgrid")
    waits = [first.reserve(), second.reserve(), first.reserve(), other.reserve()]
    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits[1] == pytest.approx(0.5, abs=0.05)
    assert waits[2] == pytest.approx(1.0, abs=0.05)
    assert waits[3] == pytest.approx(0, abs=0.05)


def test_in_process_limiter_is_safe_across_threads():
    clock = Clock()
    limiter = RateLimiter(100, clock=clock, sleep=lambda s: None)
    reservations = []
    threads = [threading.Thread(target=lambda: reservations.append(limiter.reserve())) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(round(r, 6) for r in reservations) == [round(i * 0.01, 6) for i in range(50)]


@pytest.mark.parametrize("rate", [0, -1])
def test_a_limiter_needs_a_positive_rate(rate):
    with pytest.raises(ValueError):
        RateLimiter(rate)


def test_no_configured_rate_means_no_limiter():
    assert limiter_for(None, key="twilio") is None
    assert limiter_for("", key="twilio") is None
    assert limiter_for(3, key="twilio").rate == 3


@pytest.mark.parametrize("header, seconds", [("3", 3.0), ("0", 0.0), (" 1.5 ", 1.5), (None, None), ("", None),
                                             ("soon", None), ("-4", 0.0)])
def test_retry_after_header_is_read_as_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date_in_the_past_means_now():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_backoff_doubles_with_jitter_and_stops_at_the_cap():
    rng = random.Random(1)
    for attempt, nominal in ((1, 2), (2, 4), (3, 8), (4, 16)):
        delays = [retry_delay(attempt, base=2, cap=100, rng=rng) for _ in range(200)]
        assert nominal * 0.5 <= min(delays) and max(delays) < nominal * 1.5
        assert len({round(d, 3) for d in delays}) > 100  # jittered: workers do not return together
    assert max(retry_delay(30, base=2, cap=10, rng=rng) for _ in range(50)) < 15


def test_retry_never_comes_before_the_providers_retry_after():
    rng = random.Random(2)
    assert all(retry_delay(1, retry_after=30, base=1, rng=rng) == 30 for _ in range(50))


def test_attempts_count_from_one():
    with pytest.raises(ValueError):
        retry_delay(0)
