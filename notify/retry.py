"""When to try a batch again after a temporary provider failure.

Exponential backoff spreads retries out as failures repeat; jitter keeps many workers that
failed together from coming back together (the thundering herd that caused the 429 in the
first place); a provider's own Retry-After is a floor we never go under.
"""
from __future__ import annotations

import random

from common.clock import utcnow


def parse_retry_after(value) -> float | None:
    """Seconds from an HTTP Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        from datetime import timezone
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - utcnow()).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def retry_delay(attempt: int, retry_after: float | None = None, *, base: float = 2.0,
                cap: float = 300.0, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry).

    max(Retry-After, min(cap, base * 2**(attempt-1)) * jitter) with jitter uniform in
    [0.5, 1.5): the backoff doubles on each attempt, never beyond `cap`, and never comes
    sooner than the provider asked.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    rng = rng or random
    backoff = min(cap, base * 2 ** min(attempt - 1, 30)) * rng.uniform(0.5, 1.5)
    return max(retry_after or 0.0, backoff)
