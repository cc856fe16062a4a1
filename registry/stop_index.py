"""An in-process index of where and when every stop is, for the SQLite affected set.

Without it the SQLite path re-reads the window's stops from the file on every call
(0.4-1.9 s at 170k stops), because SQLite has no index that narrows by place. The stops'
coordinates, dates, travellers and countries are read once into numpy arrays, with a
spatial grid over the located stops, and reused until the registry changes.

Never stale: the cache is keyed by the database URL and `registry_version.version`, which
SQLite triggers set to a fresh random value on every insert, delete and update of a cached
column of `stops` (migration 0006). Each call reads the version (one tiny query) and
rebuilds when it differs; the version is read again after a rebuild, so rows that changed
while they were read are used for that call only and never cached. A transaction's own
uncommitted writes change the version too, so it gets an index of what it sees. If the
version table or a trigger is missing (a database not migrated, or a later migration
rebuilt `stops` and dropped the triggers) `current_index` returns None and the caller reads
the database as before: slower, never wrong.

The spatial index is a 1-degree grid (stops sorted by cell, with each cell's first
position), not a shapely STRtree: an STRtree over the points costs about 430 bytes of
memory per stop and 0.6 s to build per 150k stops (GEOS point objects), the grid adds
8 bytes per stop to the plain arrays and answers a zone's bounding boxes with a few slices.
Memory: about 40 bytes per located stop and 24 per country-only stop plus 0.5 MB of grid
offsets, so ≈70 MB for a national registry of 1M travellers (1.7M stops); at most
`MAX_ENTRIES` indexes are kept per process. Rebuilding reads the whole table (≈2.5 µs per
stop: 0.4 s for 170k stops), which the first affected-set query after a change pays.
Thread-safe: indexes are immutable once built and rebuilds happen under a lock.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from sqlalchemy.orm import Session

from geo.join import located_mask
from geo.zones import Zone

MAX_ENTRIES = 2  # indexes kept per process (e.g. a write transaction's view and the committed one)
OPEN = np.iinfo(np.int32).max  # the day number of "no departure date"
TRIGGERS = ("stops_version_insert", "stops_version_delete", "stops_version_update")
_JULIAN_DAY_OF_ORDINAL_0 = 1721424.5  # julianday(d) - this == d.toordinal()
_CELL_DEG = 1.0
_COLS = int(360 / _CELL_DEG)
_ROWS = int(180 / _CELL_DEG)

_SCHEMA_SQL = (
    "SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name = 'registry_version') "
    "OR (type = 'trigger' AND tbl_name = 'stops' AND name IN ({}))".format(
        ", ".join(f"'{name}'" for name in TRIGGERS))
)
_VERSION_SQL = "SELECT version FROM registry_version WHERE id = 1"
_LOCATED_SQL = (
    "SELECT id, traveller_id, lon, lat, julianday(arrival), "
    "coalesce(julianday(departure), 1e12) FROM stops "
    "WHERE precision != 'country' AND lat IS NOT NULL AND lon IS NOT NULL"
)
_COUNTRY_SQL = (
    "SELECT country, id, traveller_id, julianday(arrival), coalesce(julianday(departure), 1e12) "
    "FROM stops WHERE precision = 'country' ORDER BY country"
)
_LOCATED_DTYPE = np.dtype([("id", "i8"), ("traveller", "i8"), ("lon", "f8"), ("lat", "f8"),
                           ("arrival", "f8"), ("departure", "f8")])


@dataclass(frozen=True, eq=False)
class CountryStops:
    """The country-only stops of one country."""

    stop_id: np.ndarray
    traveller_id: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray


@dataclass(frozen=True, eq=False)
class StopIndex:
    """Where and when the stops are, as of one registry version. Located stops are sorted
    by grid cell; `cell_start[c]` is the position of cell c's first stop."""

    version: int
    stop_id: np.ndarray  # int64, located stops
    traveller_id: np.ndarray  # int64
    lon: np.ndarray  # float64, as stored
    lat: np.ndarray  # float64
    arrival: np.ndarray  # int32 day numbers (date.toordinal())
    departure: np.ndarray  # int32 day numbers, OPEN when there is no departure date
    cell_start: np.ndarray  # int64, _ROWS * _COLS + 1 entries
    edge: np.ndarray  # positions of stops on the antimeridian (lon ±180): always candidates
    by_country: dict  # alpha-2 -> CountryStops

    @property
    def nbytes(self) -> int:
        arrays = [self.stop_id, self.traveller_id, self.lon, self.lat, self.arrival,
                  self.departure, self.cell_start, self.edge]
        for group in self.by_country.values():
            arrays += [group.stop_id, group.traveller_id, group.arrival, group.departure]
        return sum(a.nbytes for a in arrays)

    def located(self, zone: Zone, start_day: int, end_day: int | None) -> np.ndarray:
        """Positions of the located stops in the window and in the zone (circles: within
        the geodesic radius), in position order."""
        pos = self._candidates(zone)
        if pos.size == 0:
            return pos
        keep = self.departure[pos] >= start_day
        if end_day is not None:
            keep &= self.arrival[pos] <= end_day
        pos = pos[keep]
        if pos.size == 0:
            return pos
        return pos[located_mask(zone, self.lon[pos], self.lat[pos])]

    def country_only(self, countries: Iterable[str], start_day: int,
                     end_day: int | None) -> tuple[np.ndarray, np.ndarray]:
        """(stop ids, traveller ids) of the country-only stops of these countries in the window."""
        stops, travellers = [], []
        for code in sorted(countries):
            group = self.by_country.get(code)
            if group is None:
                continue
            keep = group.departure >= start_day
            if end_day is not None:
                keep &= group.arrival <= end_day
            stops.append(group.stop_id[keep])
            travellers.append(group.traveller_id[keep])
        if not stops:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(stops), np.concatenate(travellers)

    def _candidates(self, zone: Zone) -> np.ndarray:
        """Positions of the stops in the grid cells that the zone's parts' boxes cover."""
        geom = zone.prefilter_geometry
        parts = getattr(geom, "geoms", [geom])
        cells = np.zeros((_ROWS, _COLS), dtype=bool)
        for part in parts:
            minx, miny, maxx, maxy = part.bounds
            if not (minx <= maxx and miny <= maxy):
                continue  # empty part
            c0, c1 = _col(minx), _col(maxx)
            r0, r1 = _row(miny), _row(maxy)
            cells[r0:r1 + 1, c0:c1 + 1] = True
        flat = np.concatenate(([False], cells.ravel(), [False]))
        change = np.flatnonzero(flat[1:] != flat[:-1])
        run_start, run_end = change[0::2], change[1::2]  # runs of covered cells [start, end)
        first = self.cell_start[run_start]
        last = self.cell_start[run_end]
        lengths = last - first
        total = int(lengths.sum())
        if total:
            # positions first[i] .. last[i]-1 for every run, without a Python loop
            offsets = np.repeat(first - np.cumsum(lengths) + lengths, lengths)
            pos = np.arange(total, dtype=np.int64) + offsets
        else:
            pos = np.zeros(0, dtype=np.int64)
        if self.edge.size:
            pos = np.union1d(pos, self.edge)
        return pos


# --------------------------------------------------------------------------- the cache


_cache: "OrderedDict[tuple[str, int], StopIndex]" = OrderedDict()
_lock = threading.Lock()


def current_index(session: Session) -> StopIndex | None:
    """The index of the stops as this session sees them now (None: no registry version,
    read the database instead). SQLite only."""
    if session.autoflush:
        session.flush()  # the caller's pending stops count, as in a query
    conn = session.connection()
    if conn.exec_driver_sql(_SCHEMA_SQL).scalar() != 1 + len(TRIGGERS):
        return None
    version = conn.exec_driver_sql(_VERSION_SQL).scalar()
    if version is None:
        return None
    key = (conn.engine.url.render_as_string(hide_password=False), int(version))
    index = _cache.get(key)
    if index is not None:
        return index
    with _lock:
        index = _cache.get(key)
        if index is not None:
            return index
        index = _build(conn, int(version))
        if conn.exec_driver_sql(_VERSION_SQL).scalar() == version:
            _cache[key] = index
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
        # else: stops changed while they were read; good for this call, never cached
        return index


def clear() -> None:
    """Forget every index (tests, or to free the memory)."""
    with _lock:
        _cache.clear()


def _build(conn, version: int) -> StopIndex:
    cursor = conn.connection.cursor()  # the session's own DBAPI connection: plain tuples
    try:
        rows = np.fromiter(cursor.execute(_LOCATED_SQL), dtype=_LOCATED_DTYPE)
        country_rows = cursor.execute(_COUNTRY_SQL).fetchall()
    finally:
        cursor.close()
    wrapped = (rows["lon"] + 180.0) % 360.0 - 180.0
    wrapped[rows["lon"] == 180.0] = 180.0
    cell = _row(rows["lat"]) * _COLS + _col(wrapped)
    order = np.argsort(cell, kind="stable")
    rows, cell, wrapped = rows[order], cell[order], wrapped[order]
    cell_start = np.searchsorted(cell, np.arange(_ROWS * _COLS + 1), side="left").astype(np.int64)

    by_country: dict[str, CountryStops] = {}
    start = 0
    while start < len(country_rows):
        code = country_rows[start][0]
        end = start
        while end < len(country_rows) and country_rows[end][0] == code:
            end += 1
        group = np.array([r[1:] for r in country_rows[start:end]], dtype=float)
        by_country[code] = CountryStops(
            stop_id=group[:, 0].astype(np.int64), traveller_id=group[:, 1].astype(np.int64),
            arrival=_days(group[:, 2]), departure=_days(group[:, 3]))
        start = end

    return StopIndex(
        version=version,
        stop_id=rows["id"].copy(), traveller_id=rows["traveller"].copy(),
        lon=rows["lon"].copy(), lat=rows["lat"].copy(),
        arrival=_days(rows["arrival"]), departure=_days(rows["departure"]),
        cell_start=cell_start, edge=np.flatnonzero(np.abs(wrapped) == 180.0),
        by_country=by_country,
    )


def _days(julian: np.ndarray) -> np.ndarray:
    """SQLite julian days -> date.toordinal() day numbers; the 1e12 "no date" -> OPEN."""
    out = np.full(julian.shape, OPEN, dtype=np.int32)
    known = julian < 1e11
    out[known] = np.rint(julian[known] - _JULIAN_DAY_OF_ORDINAL_0).astype(np.int32)
    return out


def _col(lon):
    return np.clip(np.floor((np.asarray(lon, dtype=float) + 180.0) / _CELL_DEG), 0, _COLS - 1).astype(np.int64)


def _row(lat):
    return np.clip(np.floor((np.asarray(lat, dtype=float) + 90.0) / _CELL_DEG), 0, _ROWS - 1).astype(np.int64)
