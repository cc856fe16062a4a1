"""The one clock: times are made and stored aware, in UTC."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (column defaults and every timestamp the code writes)."""
    return datetime.now(timezone.utc)
