"""One hazard, whichever feed reported it.

Every parser returns `HazardEvent`s so that the application applies USGS, GDACS and CAP
events the same way: the same zone rules, the same cross-source matching, the same trigger
rules. Coordinates are always stored as separate `lat` and `lon`: USGS writes
[lon, lat, depth], GeoRSS and CAP write "lat lon" / "lat,lon", and keeping the two apart
is where feeds go wrong.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

KINDS = ("earthquake", "tsunami", "cyclone", "flood", "volcano", "drought", "wildfire", "weather", "other")
STATUSES = ("active", "deleted", "cancelled")
ALERT_LEVELS = ("green", "yellow", "orange", "red")  # GDACS uses green/orange/red; USGS PAGER adds yellow
CAP_SEVERITIES = ("Unknown", "Minor", "Moderate", "Severe", "Extreme")


class FeedError(ValueError):
    """A feed's body cannot be read (not JSON, not XML, not the expected shape)."""


@dataclass
class HazardEvent:
    source: str  # usgs | gdacs | cap
    source_id: str  # stable per source: the USGS event id, GDACS "EQ1200043", the CAP identifier
    kind: str
    title: str
    time: datetime  # when it happened (or began)
    updated: datetime | None = None  # the source's own version time
    lat: float | None = None
    lon: float | None = None
    depth_km: float | None = None
    magnitude: float | None = None
    alert_level: str | None = None  # green | yellow | orange | red
    severity: str | None = None  # CAP severity
    ends: datetime | None = None
    shape: dict | None = None  # GeoJSON Polygon/MultiPolygon in WGS 84, when the source gives one
    bbox: tuple[float, float, float, float] | None = None  # lon_min, lat_min, lon_max, lat_max
    track: list[tuple[float, float]] | None = None  # (lat, lon) points of a cyclone track
    cap_polygons: list[str] = field(default_factory=list)  # CAP "lat,lon ..." text
    cap_circles: list[str] = field(default_factory=list)  # CAP "lat,lon radius_km"
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # CAP (valueName, value)
    countries: list[str] = field(default_factory=list)  # ISO 3166-1 alpha-2
    link: str | None = None
    document_url: str | None = None  # the full CAP document, for CAP index entries
    status: str = "active"
    episode: str | None = None  # GDACS episode: a new one is an update of the same event
    msg_type: str | None = None  # CAP Alert | Update | Cancel
    references: list[str] = field(default_factory=list)  # CAP identifiers this one updates or cancels
    aliases: list[str] = field(default_factory=list)  # other ids of the same event in this source
    titles: dict[str, str] = field(default_factory=dict)  # "en"/"fr" -> headline, from a CAP document

    def summary(self) -> dict:
        """A JSON-safe dict of the event (stored with the event row, shown by the API)."""
        data = asdict(self)
        for key in ("time", "updated", "ends"):
            data[key] = data[key].isoformat() if data[key] else None
        data["bbox"] = list(self.bbox) if self.bbox else None
        data["track"] = [list(p) for p in self.track] if self.track else None
        data["geocodes"] = [list(g) for g in self.geocodes]
        return data

    @property
    def version(self) -> str:
        """What changes when the source publishes a new version of the event."""
        parts = [self.updated.isoformat() if self.updated else "", self.episode or "", self.status]
        return "|".join(parts)


def from_millis(value) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value) / 1000.0, tz=timezone.utc)


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 (Atom, CAP) or RFC 822 (RSS) into an aware UTC datetime; None if unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def as_float(value) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and abs(result) != float("inf") else None
