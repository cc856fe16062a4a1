"""Severity rings: an incident's zones, and which zone each affected traveller belongs to.

An incident may have several zones — say an inner 50 km "shelter in place" and an outer
200 km "be ready" — each with its own label and message. A traveller who is in more than
one zone belongs to the most severe one (severity 1 is the most severe), so they get one
alert with the message that matters most to them.

Evidence comes first, then severity: a traveller whose located stop (a map point or a
city) is in a zone is assigned by that stop; a country-only stop ("possibly affected")
decides only for travellers with no located stop in any zone. Otherwise a tourist pinned
150 km out would be told to shelter in place because a later stop names the country.

The zone inputs of the console and the API are turned into `ZoneSpec`s here, so both
accept the same shapes and give the same errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

import numpy as np
import shapely
from shapely.geometry import mapping

from common.i18n import N_
from emergency.core.i18n import other_language
from emergency.services.errors import ServiceError
from geo.errors import GeoError
from geo.sources import zone_from_stored
from geo.zones import Zone, circle
from registry.affected import AffectedStop, affected_travellers, count_affected, find_affected

MAX_ZONES = 10
MAX_LABEL = 200
MAX_MESSAGE = 500  # appended to SMS too: keep it short


class ZoneSpecError(ServiceError):
    """A refused zone label, message or severity."""


@dataclass
class ZoneSpec:
    """One zone of an incident, before it is stored."""

    zone: Zone
    severity: int = 1
    label_en: str | None = None
    label_fr: str | None = None
    message_en: str | None = None
    message_fr: str | None = None


@dataclass(frozen=True)
class ZonedStop:
    """An affected traveller (`AffectedStop`) and the zone they were assigned to."""

    stop: AffectedStop
    zone_id: int | None
    severity: int

    def __getattr__(self, name: str) -> Any:  # traveller_id, precision, lat, ... of the stop
        return getattr(self.stop, name)

    def as_dict(self) -> dict:
        return {**self.stop.as_dict(), "zone_id": self.zone_id, "severity": self.severity}


@dataclass
class LoadedZone:
    """A stored zone rebuilt for computing (id, severity, Zone)."""

    id: int | None
    severity: int
    zone: Zone
    record: Any = field(default=None, repr=False)


# --------------------------------------------------------------------------- input


def _text(value, field_name: str, limit: int) -> str | None:
    text = (str(value).strip() if value is not None else "")
    if len(text) > limit:
        raise ZoneSpecError(N_("This text is too long (%(limit)s characters at most)."),
                            field=field_name, limit=limit)
    return text or None


def _severity(value, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ZoneSpecError(N_("A zone's severity must be a whole number from 1 (most severe) to %(max)s."),
                            field="severity", max=MAX_ZONES) from None
    if not 1 <= number <= MAX_ZONES:
        raise ZoneSpecError(N_("A zone's severity must be a whole number from 1 (most severe) to %(max)s."),
                            field="severity", max=MAX_ZONES)
    return number


def make_spec(zone: Zone, severity=None, default_severity: int = 1, **texts) -> ZoneSpec:
    """A checked ZoneSpec: severity 1..MAX_ZONES, labels and messages within their limits."""
    return ZoneSpec(
        zone=zone, severity=_severity(severity, default_severity),
        label_en=_text(texts.get("label_en"), "label_en", MAX_LABEL),
        label_fr=_text(texts.get("label_fr"), "label_fr", MAX_LABEL),
        message_en=_text(texts.get("message_en"), "message_en", MAX_MESSAGE),
        message_fr=_text(texts.get("message_fr"), "message_fr", MAX_MESSAGE),
    )


def check_specs(specs: list[ZoneSpec]) -> list[ZoneSpec]:
    """At least one zone, at most MAX_ZONES; ordered most severe first (stable)."""
    if not specs:
        raise GeoError("no_zone", N_("A zone is required."))
    if len(specs) > MAX_ZONES:
        raise ZoneSpecError(N_("An incident has at most %(max)s zones."), field="zones", max=MAX_ZONES)
    return sorted(specs, key=lambda s: s.severity)


def parse_number(value, name: str) -> float:
    """A number typed in a form or sent as JSON; a GeoError naming the field otherwise.
    A decimal comma (38,7223, as French readers write it) is a decimal point; a comma
    beside a point, or two commas, stays an error rather than a guess."""
    text = str(value).strip() if value is not None else ""
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text.replace("\u2212", "-"))  # a typographic minus sign pasted from a document
    except (TypeError, ValueError):
        raise GeoError("not_a_number", N_("%(field)s must be a number."), field=name) from None


def ring(around: Zone, radius_km, inner_radius_km: float | None = None) -> Zone:
    """A circle of `radius_km` around the centre of `around` (a ring outside the inner zone)."""
    radius = parse_number(radius_km, "radius_km")
    if inner_radius_km is not None and radius <= inner_radius_km:
        raise ZoneSpecError(N_("A ring's radius must be larger than the inner circle's (%(inner)s km)."),
                            field="zones", inner=round(inner_radius_km, 1))
    lat, lon = around.centre()
    return circle(lat, lon, radius)


def specs_from_json(payload: Mapping, zone_from_json) -> list[ZoneSpec]:
    """API: `zone` (one zone) or `zones: [{zone, severity, label_en, ...}]`, not both."""
    has_zone = payload.get("zone") not in (None, "", {})
    zones = payload.get("zones")
    if zones in (None, []):
        return [make_spec(zone_from_json(payload.get("zone")), 1)]
    if has_zone:
        raise ZoneSpecError(N_("Give either one zone (zone) or a list of zones (zones), not both."), field="zones")
    if not isinstance(zones, list):
        raise ZoneSpecError(N_("zones must be a list of objects, each with a zone."), field="zones")
    specs = []
    for index, item in enumerate(zones):
        if not isinstance(item, dict):
            raise ZoneSpecError(N_("zones must be a list of objects, each with a zone."), field="zones")
        try:
            texts = {k: item.get(k) for k in ("label_en", "label_fr", "message_en", "message_fr")}
            specs.append(make_spec(zone_from_json(item.get("zone")), item.get("severity"),
                                   default_severity=min(index + 1, MAX_ZONES), **texts))
        except (GeoError, ZoneSpecError) as err:
            err.params = {**(getattr(err, "params", None) or {})}
            err.zone_index = index
            raise
    return check_specs(specs)


# --------------------------------------------------------------------------- storage


def union_geojson(specs: Iterable[ZoneSpec]) -> dict:
    """The union of the zones as one GeoJSON MultiPolygon (the incident's `zone`)."""
    geoms = [s.zone.geometry for s in specs]
    union = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    if union.geom_type == "Polygon":
        union = shapely.MultiPolygon([union])
    return _plain(mapping(union))


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def load_zones(incident) -> list[LoadedZone]:
    """The incident's zones, most severe first; an incident stored before zones existed
    (no rows) has its single zone as severity 1."""
    loaded = [LoadedZone(z.id, z.severity, zone_from_stored(z.zone_geojson, z.zone_source), z)
              for z in sorted(incident.zones, key=lambda z: (z.severity, z.id))]
    if not loaded:
        loaded = [LoadedZone(None, 1, zone_from_stored(incident.zone_geojson, incident.zone_source))]
    return loaded


# --------------------------------------------------------------------------- the join


def affected_by_zone(session, zones: list[LoadedZone], start: datetime, end: datetime | None) -> list[ZonedStop]:
    """One row per affected traveller, with the zone they belong to.

    Located evidence first (the most severe zone holding one of the traveller's located
    stops), else the most severe zone touching a country-only stop's country. Ordered
    by severity, then as `find_affected` orders (closest first, country-only last).
    """
    if len(zones) == 1:
        only = zones[0]
        return [ZonedStop(a, only.id, only.severity) for a in find_affected(session, only.zone, start, end)]
    located: dict[int, ZonedStop] = {}
    country_only: dict[int, ZonedStop] = {}
    for loaded in zones:  # most severe first: the first zone to claim a traveller keeps them
        for a in find_affected(session, loaded.zone, start, end):
            target = country_only if a.precision == "country" else located
            if a.traveller_id not in target:
                target[a.traveller_id] = ZonedStop(a, loaded.id, loaded.severity)
    chosen = dict(country_only)
    chosen.update(located)
    return sorted(chosen.values(), key=lambda z: (z.severity, z.precision == "country",
                                                 _distance(z), z.traveller_id))


def recipient_groups(session, zones: list[LoadedZone], start: datetime, end: datetime | None):
    """`affected_by_zone` in compact form, for freezing a large alert's recipients:
    [(zone id, located, traveller ids)] in its order (by severity; per zone the located
    travellers closest first, then the country-only ones), each traveller once. The same
    rules: located evidence in the most severe zone that has it, else the most severe zone
    touching a country-only stop's country. Arrays of ids instead of rows: the snapshot of
    100k recipients no longer holds 100k row objects (bench/fanout.py, worker memory)."""
    found = [(loaded, *affected_travellers(session, loaded.zone, start, end)) for loaded in zones]
    chosen: dict[tuple[int, bool], np.ndarray] = {}
    taken = np.zeros(0, dtype=np.int64)
    for located in (True, False):  # located evidence wins over any zone's country-only one
        for i, (_loaded, ids, flags, _km) in enumerate(found):  # most severe first
            pick = ids[flags == located]  # in find_affected's order
            pick = pick[~np.isin(pick, taken)]
            taken = np.union1d(taken, pick)
            chosen[(i, located)] = pick
    return [(loaded.id, located, chosen[(i, located)])
            for i, (loaded, *_rest) in enumerate(found) for located in (True, False)
            if chosen[(i, located)].size]


def _distance(row: ZonedStop) -> float:
    return row.distance_km if row.distance_km is not None else float("inf")


def count_by_zone(session, zones: list[LoadedZone], start, end) -> int:
    """How many travellers `affected_by_zone` would return (fast path for one zone)."""
    if len(zones) == 1:
        return count_affected(session, zones[0].zone, start, end)
    return len(affected_by_zone(session, zones, start, end))


def zone_counts(rows: Iterable[ZonedStop]) -> dict[int | None, dict[str, int]]:
    """Per zone id: how many affected travellers, and how many of them only possibly (country-only)."""
    counts: dict[int | None, dict[str, int]] = {}
    for row in rows:
        entry = counts.setdefault(row.zone_id, {"count": 0, "possibly": 0})
        entry["count"] += 1
        if row.precision == "country":
            entry["possibly"] += 1
    return counts


# --------------------------------------------------------------------------- messages


def zone_label(zone, lang: str) -> str | None:
    """A zone's label in `lang`, falling back to the other language."""
    if zone is None:
        return None
    return getattr(zone, f"label_{lang}", None) or getattr(zone, f"label_{other_language(lang)}", None)


def zone_message(zone, lang: str) -> str | None:
    """A zone's message in `lang` ("Label: message" when labelled); None when it has none."""
    if zone is None:
        return None
    message = getattr(zone, f"message_{lang}", None) or getattr(zone, f"message_{other_language(lang)}", None)
    if not message:
        return None
    label = zone_label(zone, lang)
    return f"{label}: {message}" if label else message


def with_zone_message(text: str, zone, lang: str) -> str:
    """`text` followed by the zone's message in `lang` (unchanged when there is none)."""
    message = zone_message(zone, lang)
    return f"{text}\n\n{message}" if message else text


class RecipientZones:
    """Which zone each recipient of one delivery batch was frozen with; loaded once per
    batch, and only when some zone of the incident carries a message (the common case costs
    nothing). Per batch, not per alert: loading the whole alert, every job of a
    100,000-recipient alert with ring messages read and held all 100,000 rows."""

    def __init__(self, session, alert, channel: str, batch: int):
        from sqlalchemy import select

        from emergency.core.models import AlertRecipient, IncidentZone
        from notify.models import Delivery

        self._zones = {z.id: z for z in session.scalars(
            select(IncidentZone).where(IncidentZone.incident_id == alert.incident_id))}
        self._by_traveller: dict[int, int | None] = {}
        if any(z.message_en or z.message_fr for z in self._zones.values()):
            self._by_traveller = dict(session.execute(
                select(AlertRecipient.traveller_id, AlertRecipient.zone_id)
                .join(Delivery, (Delivery.campaign_id == AlertRecipient.alert_id)
                      & (Delivery.recipient_id == AlertRecipient.traveller_id))
                .where(AlertRecipient.alert_id == alert.id, Delivery.channel == channel,
                       Delivery.batch == batch)).all())

    def zone_for(self, traveller_id: int):
        zone_id = self._by_traveller.get(traveller_id)
        return self._zones.get(zone_id) if zone_id is not None else None
