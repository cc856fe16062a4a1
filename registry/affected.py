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

The answer comes from the stops alone: who (traveller id), which stop, how it was located,
where and how far. Names and external references are for display and are read for the
rows shown (`external_ids`, `emergency.services.incidents.describe_rows`): at a continent's 90k
travellers a per-row lookup of the traveller cost PostgreSQL more than the spatial query.

On PostgreSQL the filtering happens in SQL with PostGIS (the GiST-indexed generated
column `stops.geom`, which the ORM model does not map; country-only stops through a
partial index, migration 0007); on SQLite the stops come from the
in-process `registry.stop_index` (kept up to date from the stops' change log, and holding
what an answer shows) and are tested in memory by `geo.join`; a database without the
registry version or with a trigger older than migration 0010 is read directly.
"""
from __future__ import annotations

import math
import operator
from datetime import date, datetime, timezone
from functools import partial
from itertools import chain, repeat
from typing import Iterable, NamedTuple

import numpy as np
from sqlalchemy import and_, bindparam, false, func, literal_column, or_, select, text, union_all
from sqlalchemy.orm import Session

from geo.join import located_mask
from geo.zones import Zone
from registry.bulk import membership
from registry.gc_pause import cycle_collector_paused
from registry.models import Stop, Traveller
from registry.stop_index import StopIndex, current_index, words


class AffectedStop(NamedTuple):
    """One affected traveller and the stop that puts them in the zone. A named tuple, not a
    dataclass: a continent-sized zone makes 100k of them, and a frozen dataclass costs
    several times more to build. The first seven fields are the stop's columns in the
    order the PostGIS queries read them, so an answer is the row plus two computed
    fields, put together without a Python loop (`_answers`)."""

    stop_id: int
    traveller_id: int
    located_by: str  # 'point', 'city' or 'country': how the stop was given
    country: str
    place: str | None
    lat: float | None
    lon: float | None
    precision: str  # 'point' (map point or city) or 'country': the external contract
    distance_km: float | None  # from the circle's centre / zone's centre; None for country-only

    def as_dict(self) -> dict:
        return self._asdict()


_new_answer = partial(tuple.__new__, AffectedStop)


def external_ids(session: Session, traveller_ids: Iterable[int]) -> dict[int, str | None]:
    """traveller id -> external reference, for the rows a caller shows or exports."""
    ids = list(dict.fromkeys(traveller_ids))
    member, chunk = membership(session)
    found: dict[int, str | None] = {}
    for i in range(0, len(ids), chunk):
        found.update(session.execute(select(Traveller.id, Traveller.external_id)
                                     .where(member(Traveller.id, ids[i:i + chunk]))).all())
    return found


def find_affected(session: Session, zone: Zone, start: datetime | date,
                  end: datetime | date | None = None) -> list[AffectedStop]:
    """One row per affected traveller, closest first, country-only rows last."""
    with cycle_collector_paused():  # 100k rows: see registry.gc_pause
        return _find_affected(session, zone, start, end)


def _find_affected(session: Session, zone: Zone, start, end) -> list[AffectedStop]:
    if _is_postgres(session):
        return _postgis_find(session, zone, start, end)
    index = current_index(session)
    if index is not None:
        return _indexed_find(session, index, zone, start, end)
    rows = _matching_rows(session, zone, start, end)
    return _best_per_traveller(zone, rows)


def count_affected(session: Session, zone: Zone, start: datetime | date,
                   end: datetime | date | None = None) -> int:
    """How many travellers `find_affected` would return."""
    if _is_postgres(session):
        _plan_for_this_zone(session)
        parts = [select(Stop.traveller_id).where(*part) for part in _postgis_parts(zone, start, end)]
        ids = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        stmt = select(func.count(func.distinct(ids.c.traveller_id)))
        return int(session.execute(stmt).scalar_one())
    index = current_index(session)
    if index is not None:
        _stops, located, _lons, _lats, _c_stops, country = _index_arrays(index, zone, start, end)
        travellers = np.sort(np.concatenate((located, country)))
        return int(travellers.size and 1 + np.count_nonzero(travellers[1:] != travellers[:-1]))
    travellers = {tid for _sid, tid in _sqlite_located(session, zone, start, end)}
    travellers.update(tid for (tid,) in session.execute(
        select(Stop.traveller_id).where(*_country_only(zone, start, end))))
    return len(travellers)


def affected_travellers(session: Session, zone: Zone, start: datetime | date,
                        end: datetime | date | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The travellers `find_affected` would return, in its order, as three arrays:
    (traveller ids, located, distance km). `located[i]` is True when a located stop (point
    or city) puts the traveller in the zone, False when only a country-only stop does
    (distance NaN). The same selection and ranking as `find_affected`, without reading
    names, places or building row objects: about 17 bytes per traveller, for the recipient
    snapshot of a large alert (a worker freezing 100k recipients from `find_affected` rows
    peaked 50 MB higher, bench/fanout.py)."""
    if _is_postgres(session):
        _plan_for_this_zone(session)
        parts = _postgis_parts(zone, start, end)
        located = _plain_rows(session.connection(),
                              select(Stop.id, Stop.traveller_id, Stop.lon, Stop.lat).where(*parts[0]))
        country = (_plain_rows(session.connection(), select(Stop.id, Stop.traveller_id).where(*parts[1]))
                   if len(parts) > 1 else [])
        arrays = (_column(located, 0, np.int64), _column(located, 1, np.int64),
                  _column(located, 2, float), _column(located, 3, float),
                  _column(country, 0, np.int64), _column(country, 1, np.int64))
    else:
        index = current_index(session)
        if index is None:
            rows = find_affected(session, zone, start, end)
            return (np.array([r.traveller_id for r in rows], dtype=np.int64),
                    np.array([r.precision != "country" for r in rows], dtype=bool),
                    np.array([np.nan if r.distance_km is None else r.distance_km for r in rows],
                             dtype=float))
        arrays = _index_arrays(index, zone, start, end)
    _stops, travellers, km, country_only, best = _ranked(zone, *arrays)
    return travellers[best], ~country_only[best], np.where(country_only[best], np.nan, km[best])


def _column(rows: list[tuple], i: int, dtype) -> np.ndarray:
    """Column i of the driver's tuples as an array."""
    return np.fromiter(map(operator.itemgetter(i), rows), dtype=dtype, count=len(rows))


# --------------------------------------------------------------------------- selection


# the stop's columns in AffectedStop's order
_COLUMNS = (Stop.id.label("stop_id"), Stop.traveller_id, Stop.precision, Stop.country, Stop.place,
            Stop.lat, Stop.lon)
_ID_CHUNK = 10_000


def _matching_rows(session: Session, zone: Zone, start, end) -> list:
    """SQLite without the stop index: window and bounding box in SQL on the narrow columns,
    the zone test in memory, then the full rows of the hits only."""
    base = select(*_COLUMNS)
    hits = [sid for sid, _tid in _sqlite_located(session, zone, start, end)]
    rows = []
    for i in range(0, len(hits), _ID_CHUNK):
        rows.extend(session.execute(base.where(Stop.id.in_(hits[i:i + _ID_CHUNK]))).all())
    rows.extend(session.execute(base.where(*_country_only(zone, start, end))).all())
    return rows


def _postgis_find(session: Session, zone: Zone, start, end) -> list[AffectedStop]:
    """The PostgreSQL path of `find_affected`: PostGIS picks the stops (one indexed query
    per kind of evidence: an OR across them defeats both indexes) and numpy ranks them
    (`_ranked`, shared with the SQLite index).

    The queries read `stops` alone, through SQLAlchemy Core (ORM rows cost more than the
    database at 100k hits)."""
    _plan_for_this_zone(session)
    conn = session.connection()
    found = [_plain_rows(conn, _pg_select(zone, kind, part, start, end))
             for kind, part in zip(("located", "country"), _postgis_parts(zone, start, end))]
    located, country = found[0], (found[1] if len(found) > 1 else [])
    if not located and not country:
        return []
    # columns: stop id, traveller id, precision, country, place, lat, lon
    _stops, _travellers, km, country_only, best = _ranked(
        zone, _column(located, 0, np.int64), _column(located, 1, np.int64),
        _column(located, 6, float), _column(located, 5, float),
        _column(country, 0, np.int64), _column(country, 1, np.int64))
    everything = located + country  # positions in `best` index the located rows, then these
    return _answers(list(map(everything.__getitem__, best.tolist())), km[best], country_only[best])


def _plain_rows(conn, stmt) -> list[tuple]:
    """The driver's own tuples: ints, strings and floats need no conversion, and building
    SQLAlchemy rows cost a third of the query's time for 90k hits."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _pg_select(zone: Zone, kind: str, conditions: list, start, end):
    """The SELECT of one part. For a circle, the stops the GiST index finds in the
    enclosing polygon are materialised first, then the window and the geodesic test apply
    to them: the planner cannot estimate the geography test and otherwise ANDs in the date
    index, reading a million index entries (0.13 s instead of 0.07 s at 1M stops)."""
    if kind == "located" and zone.circle:
        near = (select(Stop.id, Stop.traveller_id, Stop.precision, Stop.country, Stop.place,
                       Stop.lat, Stop.lon, Stop.arrival, Stop.departure,
                       literal_column("stops.geom").label("geom"))
                .where(Stop.precision != "country", _in_prefilter(zone, literal_column("stops.geom")))
                .cte("near").prefix_with("MATERIALIZED"))
        source, conditions = near.c, [*_window(start, end, near.c), _within_circle(zone, "near")]
    else:
        source = Stop
    return select(source.id.label("stop_id"), source.traveller_id, source.precision,
                  source.country, source.place, source.lat, source.lon).where(*conditions)


def _sqlite_located(session: Session, zone: Zone, start, end) -> list[tuple[int, int]]:
    """(stop id, traveller id) of the located stops in the zone and the window."""
    minx, miny, maxx, maxy = zone.prefilter_geometry.bounds
    stmt = select(Stop.id, Stop.traveller_id, Stop.lon, Stop.lat).where(
        *_window(start, end), Stop.precision != "country",
        Stop.lat.between(miny, maxy), Stop.lon.between(minx, maxx))
    rows = session.execute(stmt).all()
    if not rows:
        return []
    table = np.array(rows, dtype=float)
    mask = located_mask(zone, table[:, 2], table[:, 3])
    return [(int(sid), int(tid)) for sid, tid in table[mask, :2].tolist()]


def _country_only(zone: Zone, start, end) -> list:
    """Conditions for country-only stops in a country the zone touches (none: nothing)."""
    touched = sorted(zone.touched_countries())
    if not touched:
        return [false()]
    return [*_window(start, end), Stop.precision == "country", Stop.country.in_(touched)]


def _plan_for_this_zone(session: Session) -> None:
    """Settings for the affected-set queries, LOCAL to the caller's transaction.

    * plan_cache_mode: psycopg prepares a statement after five runs and PostgreSQL may
      then switch to a generic plan, made without the zone: the same SQL text serves a
      300 km circle and a continent, and a generic plan was measured at 0.74 s where the
      zone's own plan takes 0.1 s (bench/affected.py). Every run is planned for its zone.
    * jit: PostgreSQL's JIT compiles the big zone literal for every query (≈0.1 s); the
      indexed plans here never need it."""
    session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                         "set_config('jit', 'off', true)"))  # true: LOCAL, one round trip


def _window(start, end, columns=Stop) -> list:
    """Stops whose [arrival, departure] overlaps [start, end] as UTC dates, inclusive
    (`columns`: the stops table, or a subquery's columns)."""
    conditions = [or_(columns.departure.is_(None), columns.departure >= _utc_date(start))]
    if end is not None:
        conditions.append(columns.arrival <= _utc_date(end))
    return conditions


def _postgis_parts(zone: Zone, start, end) -> list[list]:
    """WHERE clauses: located stops in the zone, then country-only stops (if any country)."""
    parts = [[*_window(start, end), Stop.precision != "country", _postgis_located(zone)]]
    if zone.touched_countries():
        parts.append(_country_only(zone, start, end))
    return parts


def _postgis_located(zone: Zone, table: str = "stops"):
    geom = literal_column(f"{table}.geom")
    if zone.circle:
        # the indexed polygon test narrows, the geodesic distance decides
        return and_(_in_prefilter(zone, geom), _within_circle(zone, table))
    return func.ST_Intersects(
        geom, func.ST_GeomFromText(bindparam("zone_wkt", zone.geometry.wkt), 4326))


def _in_prefilter(zone: Zone, geom):
    return func.ST_Intersects(geom, func.ST_GeomFromText(
        bindparam("prefilter_wkt", zone.prefilter_geometry.wkt), 4326))


def _within_circle(zone: Zone, table: str):
    lat, lon, radius_km = zone.circle
    return text(
        f"ST_DWithin({table}.geom::geography, "
        "ST_SetSRID(ST_MakePoint(:centre_lon, :centre_lat), 4326)::geography, :radius_m)"
    ).bindparams(centre_lon=lon, centre_lat=lat, radius_m=radius_km * 1000.0 + 1e-3)


# --------------------------------------------------------------------------- SQLite, indexed


def _indexed_find(session: Session, index: StopIndex, zone: Zone, start,
                  end) -> list[AffectedStop]:
    """`_best_per_traveller` done on arrays from the in-process index, which also holds what
    an answer shows (how each stop was located, its country and place): no file read.
    Reading the winners' rows from the file cost 6 µs each, 0.5 s for a continent's 90k."""
    start_day, end_day = _day_numbers(start, end)
    pos = index.located(zone, start_day, end_day)
    country = index.country_rows(zone.touched_countries(), start_day, end_day)
    if pos.size + len(country) == 0:
        return []
    _stops, _travellers, km, country_only, best = _ranked(
        zone, index.stop_id[pos], index.traveller_id[pos], index.lon[pos], index.lat[pos],
        country.stop_id, country.traveller_id)
    # an answer lists located evidence first: the winners among the located stops (positions
    # below pos.size), then among the country-only ones
    split = int(np.count_nonzero(~country_only[best]))
    at, there = pos[best[:split]], best[split:] - pos.size
    others = there.size
    columns = (  # AffectedStop's fields, one column each, located winners then the others
        chain(index.stop_id[at].tolist(), country.stop_id[there].tolist()),
        chain(index.traveller_id[at].tolist(), country.traveller_id[there].tolist()),
        chain(words(index.located_by[at]), repeat("country", others)),
        chain(words(index.country[at]), country.code[there].tolist()),
        chain(words(index.place[at]), words(country.place[there])),
        chain(index.lat[at].tolist(), _floats_or_none(country.lat[there])),
        chain(index.lon[at].tolist(), _floats_or_none(country.lon[there])),
        chain(repeat("point", split), repeat("country", others)),
        chain(km[best[:split]].tolist(), repeat(None, others)),
    )
    return list(map(_new_answer, zip(*columns)))


def _floats_or_none(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def _index_arrays(index: StopIndex, zone: Zone, start, end) -> tuple[np.ndarray, ...]:
    """(stop ids, traveller ids, lons, lats) of the located stops in the zone and window,
    then (stop ids, traveller ids) of the country-only ones, from the in-process index."""
    start_day, end_day = _day_numbers(start, end)
    pos = index.located(zone, start_day, end_day)
    c_stops, c_travellers = index.country_only(zone.touched_countries(), start_day, end_day)
    return (index.stop_id[pos], index.traveller_id[pos], index.lon[pos], index.lat[pos],
            c_stops, c_travellers)


def _day_numbers(start, end) -> tuple[int, int | None]:
    """The window as the index's day numbers (UTC dates; None: no end)."""
    return _utc_date(start).toordinal(), (_utc_date(end).toordinal() if end is not None else None)


def _answers(rows: list[tuple], km: np.ndarray, country_only: np.ndarray) -> list[AffectedStop]:
    """AffectedStops from the winners' rows (the stop's seven columns), their distances and
    evidence, in answer order (located ones first). Put together with map and zip, without
    a Python loop per row: at 90k travellers such a loop cost more than ranking them."""
    located = int(np.count_nonzero(~country_only))
    others = int(country_only.size) - located
    extras = zip(["point"] * located + ["country"] * others, km[:located].tolist() + [None] * others)
    return list(map(_new_answer, map(operator.add, rows, extras)))


def _round_3(values: np.ndarray) -> np.ndarray:
    """round(value, 3) for each value, exactly as Python rounds (as `_best_per_traveller`
    does), at numpy's speed: numpy's own rounding scales by 1000 first and can land on the
    other side of a half; the few values that near a half are rounded by Python instead."""
    scaled = values * 1000.0
    out = np.round(scaled) / 1000.0
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    if near_half.any():
        out[near_half] = [round(v, 3) for v in values[near_half].tolist()]
    return out


def _ranked(zone: Zone, stop_ids: np.ndarray, travellers: np.ndarray, lons: np.ndarray,
            lats: np.ndarray, c_stops: np.ndarray, c_travellers: np.ndarray):
    """`_rank` on arrays (`_best_per_traveller`'s order). Returns (stop ids, traveller ids, km, country-only) of every
    matching stop, located ones first (km inf for country-only ones), and `best`: the
    position of each traveller's best stop, in answer order (located before country-only,
    closest first, then by traveller and stop)."""
    located_km = _round_3(zone.distance_km(lons, lats))
    all_stops = np.concatenate((stop_ids, c_stops))
    all_travellers = np.concatenate((travellers, c_travellers))
    country = np.concatenate((np.zeros(stop_ids.size, dtype=bool), np.ones(c_stops.size, dtype=bool)))
    km = np.concatenate((located_km, np.full(c_stops.size, np.inf)))
    # every matching stop in answer order (_rank's); each traveller's best stop is its first
    # one there, and the winners keep that order: one sort, not one per traveller and one
    # of the winners
    order = np.lexsort((all_stops, all_travellers, km, country))
    _travellers, first = np.unique(all_travellers[order], return_index=True)
    best = order[np.sort(first)]
    return all_stops, all_travellers, km, country, best


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
