"""The same disaster seen by two sources is one event.

USGS and GDACS both report large earthquakes (GDACS takes its earthquakes from USGS and
EMSC, rounds the time to the second and sometimes revises the magnitude), so two
earthquake reports are the same earthquake when they are close enough in all three of
time, place and magnitude:

- origin times at most `seconds` apart (default 120 s: location agencies differ by a few
  seconds, and 2 minutes is far shorter than the interval between two large events nearby);
- epicentres at most `km` apart on the ellipsoid (default 100 km: agencies' first
  locations differ by tens of kilometres);
- magnitudes at most `magnitude` apart (default 0.5: Mw against mb or ML), when both have one.

Other kinds are not matched across sources: two floods or cyclones near each other in the
same week are too often two different events to merge them silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, TypeVar

from pyproj import Geod

from hazards.events import HazardEvent

GEOD = Geod(ellps="WGS84")
MATCHED_KINDS = ("earthquake",)
T = TypeVar("T")


@dataclass(frozen=True)
class MatchRule:
    seconds: float = 120.0
    km: float = 100.0
    magnitude: float = 0.5


DEFAULT = MatchRule()


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000.0


def same_disaster(a: HazardEvent, b: HazardEvent, rule: MatchRule = DEFAULT) -> bool:
    if a.source == b.source or a.kind != b.kind or a.kind not in MATCHED_KINDS:
        return False
    if None in (a.lat, a.lon, b.lat, b.lon) or a.time is None or b.time is None:
        return False
    if abs((a.time - b.time).total_seconds()) > rule.seconds:
        return False
    if a.magnitude is not None and b.magnitude is not None and abs(a.magnitude - b.magnitude) > rule.magnitude + 1e-9:
        return False
    return distance_km(a.lat, a.lon, b.lat, b.lon) <= rule.km


def best_match(event: HazardEvent, candidates: Iterable[tuple[T, HazardEvent]], rule: MatchRule = DEFAULT) -> T | None:
    """The key of the candidate that is the same disaster as `event` (the nearest in time
    when several are), or None."""
    matches = [(abs((event.time - other.time).total_seconds()), key)
               for key, other in candidates if same_disaster(event, other, rule)]
    return min(matches, key=lambda m: m[0])[1] if matches else None
