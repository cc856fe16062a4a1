"""Who is affected: the stops that are in an incident zone during its time window.

This is the question every alert starts from, so the answer must not depend on where the
data lives. Both backends apply the same rules and return the same rows:

* time: a stop counts when its dates overlap the incident window, compared as UTC dates,
  both ends inclusive; a stop with no departure date is still there; an incident with no
  end is still going on.
* place: a stop with coordinates (a map point or a city) counts when the point is in the
  zone (geodesic distance for circles); a stop that names only a country counts when the
  zone touches that country.
* one row per traveller: the best evidence wins (a located stop over a country-only one,
  then the closest), ordered by distance with country-only rows last.

On PostgreSQL the filtering happens in SQL with PostGIS (the GiST-indexed generated
column `stops.geom`, which the ORM model does not map); on SQLite the candidate stops in
the window are read with SQLAlchemy Core and tested in memory by `geo.join`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from typing import Iterable

import numpy as np
from sqlalchemy import and_, bindparam, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from geo.countries import countries_intersecting
from geo.join import affected_mask
from geo.zones import Zone
from registry.models import Stop, Traveller


@dataclass(frozen=True)
class AffectedStop:
    traveller_id: int
    external_id: str | None
    stop_id: int
    precision: str  # 'point' (map point or city) or 'country': the external contract
    located_by: str  # 'point', 'city' or 'country': how the stop was given
    country: str
    place: str | None
    lat: float | None
    lon: float | None
    distance_km: float | None  # from the circle's centre / zone's centre; None for country-only

    def as_dict(self) -> dict:
        return asdict(self)


def find_affected(session: Session, zone: Zone, start: datetime | date,
                  end: datetime | date | None = None) -> list[AffectedStop]:
    """One row per affected traveller, closest first, country-only rows last."""
    rows = _matching_rows(session, zone, start, end)
    return _best_per_traveller(zone, rows)


def count_affected(session: Session, zone: Zone, start: datetime | date,
                   end: datetime | date | None = None) -> int:
    """How many travellers `find_affected` would return."""
    if _is_postgres(session):
        conditions = _window(start, end) + [_postgis_place(zone)]
        stmt = select(func.count(func.distinct(Stop.traveller_id))).where(*conditions)
        return int(session.execute(stmt).scalar_one())
    return len({row.traveller_id for row in _matching_rows(session, zone, start, end)})


# --------------------------------------------------------------------------- selection


_COLUMNS = (
    Stop.id.label("stop_id"), Stop.traveller_id, Traveller.external_id, Stop.precision,
    Stop.country, Stop.place, Stop.lat, Stop.lon,
)


def _matching_rows(session: Session, zone: Zone, start, end) -> list:
    base = select(*_COLUMNS).join(Traveller, Traveller.id == Stop.traveller_id)
    window = _window(start, end)
    if _is_postgres(session):
        return list(session.execute(base.where(*window, _postgis_place(zone))).all())

    # SQLite: narrow down in SQL (window, bounding box, touched countries), decide in memory
    touched = sorted(countries_intersecting(zone.geometry))
    minx, miny, maxx, maxy = zone.prefilter_geometry.bounds
    located = and_(
        Stop.precision != "country",
        Stop.lat.between(miny, maxy),
        Stop.lon.between(minx, maxx),
    )
    place = or_(located, and_(Stop.precision == "country", Stop.country.in_(touched))) \
        if touched else located
    rows = session.execute(base.where(*window, place)).all()
    if not rows:
        return []
    lons = np.array([r.lon if r.lon is not None else math.nan for r in rows], dtype=float)
    lats = np.array([r.lat if r.lat is not None else math.nan for r in rows], dtype=float)
    countries = np.array([r.country for r in rows], dtype=object)
    precisions = np.array([r.precision for r in rows], dtype=object)
    mask = affected_mask(zone, lons, lats, countries, precisions)
    return [row for row, hit in zip(rows, mask) if hit]


def _window(start, end) -> list:
    """Stops whose [arrival, departure] overlaps [start, end] as UTC dates, inclusive."""
    conditions = [or_(Stop.departure.is_(None), Stop.departure >= _utc_date(start))]
    if end is not None:
        conditions.append(Stop.arrival <= _utc_date(end))
    return conditions


def _postgis_place(zone: Zone):
    geom = literal_column("stops.geom")
    if zone.circle:
        lat, lon, radius_km = zone.circle
        # the indexed polygon test narrows, the geodesic distance decides
        located = and_(
            func.ST_Intersects(geom, func.ST_GeomFromText(
                bindparam("prefilter_wkt", zone.prefilter_geometry.wkt), 4326)),
            text(
                "ST_DWithin(stops.geom::geography, "
                "ST_SetSRID(ST_MakePoint(:centre_lon, :centre_lat), 4326)::geography, :radius_m)"
            ).bindparams(centre_lon=lon, centre_lat=lat, radius_m=radius_km * 1000.0 + 1e-3),
        )
    else:
        located = func.ST_Intersects(
            geom, func.ST_GeomFromText(bindparam("zone_wkt", zone.geometry.wkt), 4326))
    located = and_(Stop.precision != "country", located)
    touched = sorted(countries_intersecting(zone.geometry))
    if not touched:
        return located
    return or_(located, and_(Stop.precision == "country", Stop.country.in_(touched)))


# --------------------------------------------------------------------------- ranking


def _best_per_traveller(zone: Zone, rows: Iterable) -> list[AffectedStop]:
    rows = list(rows)
    if not rows:
        return []
    located_idx = [i for i, r in enumerate(rows) if r.precision != "country"]
    distances: list[float | None] = [None] * len(rows)
    if located_idx:
        lons = np.array([rows[i].lon for i in located_idx], dtype=float)
        lats = np.array([rows[i].lat for i in located_idx], dtype=float)
        for i, d in zip(located_idx, zone.distance_km(lons, lats).tolist()):
            distances[i] = round(d, 3)

    best: dict[int, AffectedStop] = {}
    for row, dist in zip(rows, distances):
        candidate = AffectedStop(
            traveller_id=row.traveller_id,
            external_id=row.external_id,
            stop_id=row.stop_id,
            precision="country" if row.precision == "country" else "point",
            located_by=row.precision,
            country=row.country,
            place=row.place,
            lat=row.lat,
            lon=row.lon,
            distance_km=dist,
        )
        current = best.get(row.traveller_id)
        if current is None or _rank(candidate) < _rank(current):
            best[row.traveller_id] = candidate
    return sorted(best.values(), key=_rank)


def _rank(stop: AffectedStop) -> tuple:
    return (
        stop.precision == "country",
        stop.distance_km if stop.distance_km is not None else math.inf,
        stop.traveller_id,
        stop.stop_id,
    )


# --------------------------------------------------------------------------- helpers


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _utc_date(value: datetime | date) -> date:
    """The UTC calendar date of a moment (naive datetimes are taken as UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.date()
    return value
