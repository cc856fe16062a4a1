"""Times are stored in UTC. SQLite gives them back naive; this makes them aware again.
The clock itself is `common.clock.utcnow`."""
from __future__ import annotations

from datetime import datetime, timezone


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_iso(text: str) -> datetime:
    """ISO 8601 date or date-time; a time without offset is taken as UTC."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(text))


def iso_utc(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC (None stays None): how the API writes times."""
    value = as_utc(value)
    return value.isoformat() if value else None
