"""A throughput cap per provider (Twilio messages per second, SendGrid requests per second).

Providers throttle us when we go faster than they allow (Twilio queues then fails long
codes above ~1 MPS; SendGrid answers 429), so we pace ourselves instead. The limiter is a
GCRA reservation ("generic cell rate algorithm", a token bucket kept as one timestamp):
each call reserves the next free slot and sleeps until it. With a Redis client the slot
is kept in Redis and updated by one Lua script using Redis's own clock, so every worker
process on every machine shares the one cap; without Redis it is kept in this process.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

# KEYS[1] = the limiter's key; ARGV = interval per call (s), burst tolerance (s), calls.
# Returns how long the caller must wait, as a string (Lua numbers become integers otherwise).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local calls = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local start = tat - burst
local new_tat = tat + interval * calls
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX', math.ceil((new_tat - now + 60) * 1000))
local wait = start - now
if wait < 0 then wait = 0 end
return string.format('%.6f', wait)
"""


class RateLimiter:
    """At most `rate` calls per second on average, allowing bursts of `burst` calls.

    `redis` (a redis-py client) shares the cap across processes under `key`; None keeps
    it in this process (thread-safe). `acquire()` blocks until the caller may go and
    returns the seconds it waited.
    """

    def __init__(self, rate: float, *, burst: float = 1, redis=None, key: str = "throttle",
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if not rate or rate <= 0:
            raise ValueError("rate must be a positive number of calls per second")
        if burst < 1:
            raise ValueError("burst must be at least one call")
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self.burst = float(burst)
        self.redis = redis
        self.key = f"emergency:throttle:{key}"
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = 0.0
        self._script = redis.register_script(_RESERVE) if redis is not None else None

    def reserve(self, calls: int = 1) -> float:
        """Reserve the next slot for `calls` calls; the seconds to wait before using it."""
        tolerance = (self.burst - 1) * self.interval
        if self._script is not None:
            return float(self._script(keys=[self.key], args=[repr(self.interval), repr(tolerance), calls]))
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            self._tat = tat + self.interval * calls
            return max(0.0, tat - tolerance - now)

    def acquire(self, calls: int = 1) -> float:
        wait = self.reserve(calls)
        if wait > 0:
            self._sleep(wait)
        return wait


def limiter_for(rate, *, redis=None, key: str, burst: float = 1) -> RateLimiter | None:
    """A RateLimiter for a configured `rate` (calls per second), or None when no cap is set."""
    if rate in (None, "", 0, "0"):
        return None
    return RateLimiter(float(rate), burst=burst, redis=redis, key=key)
