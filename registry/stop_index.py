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
memory per stop and 0.6 s to build per 150k stops (GEOS point objects); the grid adds
no per-stop memory (the stops are stored sorted by cell) and answers a zone's boxes with slices.
Memory: about 40 bytes per stop (measured: 6.9 MB for 170k stops, 64 MB for 1.7M) plus
0.5 MB of grid offsets; at most `MAX_ENTRIES` indexes are kept per process. Rebuilding
reads the whole table, which the first affected-set query after a change pays (measured on
a loaded 2-core box: 1.7 s for 170k stops, 25 s for 1.7M).
Thread-safe: indexes are immutable once built and rebuilds happen under a lock.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import shapely
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
# the full rows of the winners, by stop id: one JSON array parameter (SQLite >= 3.38 or JSON1)
ROWS_BY_ID_SQL = (
    "SELECT stops.id, stops.traveller_id, travellers.external_id, stops.precision, "
    "stops.country, stops.place, stops.lat, stops.lon FROM stops "
    "JOIN travellers ON travellers.id = stops.traveller_id "
    "WHERE stops.id IN (SELECT value FROM json_each(?))"
)
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
    # country-only stops, sorted by country; `country_slice[code]` = (first, end) positions
    country_stop_id: np.ndarray  # int64
    country_traveller_id: np.ndarray  # int64
    country_arrival: np.ndarray  # int32 day numbers
    country_departure: np.ndarray  # int32 day numbers, OPEN when there is no departure date
    country_slice: dict

    @property
    def nbytes(self) -> int:
        arrays = [self.stop_id, self.traveller_id, self.lon, self.lat, self.arrival,
                  self.departure, self.cell_start, self.edge, self.country_stop_id,
                  self.country_traveller_id, self.country_arrival, self.country_departure]
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
        slices = [self.country_slice[c] for c in countries if c in self.country_slice]
        if not slices:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        pos = np.concatenate([np.arange(first, end) for first, end in slices])
        keep = self.country_departure[pos] >= start_day
        if end_day is not None:
            keep &= self.country_arrival[pos] <= end_day
        pos = pos[keep]
        return self.country_stop_id[pos], self.country_traveller_id[pos]

    def _candidates(self, zone: Zone) -> np.ndarray:
        """Positions of the stops in the grid cells that the zone's parts' boxes cover."""
        geom = zone.prefilter_geometry
        boxes = shapely.bounds(np.array(getattr(geom, "geoms", [geom]), dtype=object))
        boxes = boxes[np.isfinite(boxes).all(axis=1)]  # empty parts have no box
        c0, c1 = _col(boxes[:, 0]), _col(boxes[:, 2]) + 1
        r0, r1 = _row(boxes[:, 1]), _row(boxes[:, 3]) + 1
        # one run of cells [row * _COLS + c0, row * _COLS + c1) per grid row of each box
        nrows = r1 - r0
        box = np.repeat(np.arange(boxes.shape[0]), nrows)
        row = np.arange(int(nrows.sum())) - np.repeat(np.cumsum(nrows) - nrows, nrows) + r0[box]
        run_start, run_end = row * _COLS + c0[box], row * _COLS + c1[box]
        if len(boxes) > 1:  # boxes may overlap: merge the runs
            order = np.argsort(run_start, kind="stable")
            run_start, run_end = run_start[order], np.maximum.accumulate(run_end[order])
            new = np.ones(run_start.size, dtype=bool)
            new[1:] = run_start[1:] > run_end[:-1]
            last = np.append(np.flatnonzero(new)[1:] - 1, run_start.size - 1)
            run_start, run_end = run_start[new], run_end[last]
        first = self.cell_start[run_start]
        lengths = self.cell_start[run_end] - first
        total = int(lengths.sum())
        if total:
            # positions first[i] .. first[i] + lengths[i] - 1 for every run, without a loop
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
    cursor = conn.connection.cursor()  # the session's DBAPI connection: two tiny queries
    try:
        if cursor.execute(_SCHEMA_SQL).fetchone()[0] != 1 + len(TRIGGERS):
            return None
        row = cursor.execute(_VERSION_SQL).fetchone()
        if row is None or row[0] is None:
            return None
        version = int(row[0])
        key = (conn.engine.url.render_as_string(hide_password=False), version)
        index = _cache.get(key)
        if index is not None:
            return index
        with _lock:
            index = _cache.get(key)
            if index is not None:
                return index
            index = _build(cursor, version)
            if cursor.execute(_VERSION_SQL).fetchone()[0] == version:
                _cache[key] = index
                while len(_cache) > MAX_ENTRIES:
                    _cache.popitem(last=False)
            # else: stops changed while they were read; good for this call, never cached
            return index
    finally:
        cursor.close()


def rows_by_id(session: Session, stop_ids: list[int]) -> dict[int, tuple]:
    """stop id -> (id, traveller id, external id, precision, country, place, lat, lon)."""
    cursor = session.connection().connection.cursor()
    try:
        return {row[0]: row for row in cursor.execute(ROWS_BY_ID_SQL, (json.dumps(stop_ids),))}
    finally:
        cursor.close()


def clear() -> None:
    """Forget every index (tests, or to free the memory)."""
    with _lock:
        _cache.clear()


def _build(cursor, version: int) -> StopIndex:
    rows = np.fromiter(cursor.execute(_LOCATED_SQL), dtype=_LOCATED_DTYPE)
    country_rows = cursor.execute(_COUNTRY_SQL).fetchall()
    wrapped = (rows["lon"] + 180.0) % 360.0 - 180.0
    wrapped[rows["lon"] == 180.0] = 180.0
    cell = _row(rows["lat"]) * _COLS + _col(wrapped)
    order = np.argsort(cell, kind="stable")
    rows, cell, wrapped = rows[order], cell[order], wrapped[order]
    cell_start = np.searchsorted(cell, np.arange(_ROWS * _COLS + 1), side="left").astype(np.int64)

    country_slice: dict[str, tuple[int, int]] = {}
    for i, row in enumerate(country_rows):  # sorted by country
        first, _end = country_slice.get(row[0], (i, i))
        country_slice[row[0]] = (first, i + 1)
    country = np.array([r[1:] for r in country_rows], dtype=float).reshape(-1, 4)

    return StopIndex(
        version=version,
        stop_id=rows["id"].copy(), traveller_id=rows["traveller"].copy(),
        lon=rows["lon"].copy(), lat=rows["lat"].copy(),
        arrival=_days(rows["arrival"]), departure=_days(rows["departure"]),
        cell_start=cell_start, edge=np.flatnonzero(np.abs(wrapped) == 180.0),
        country_stop_id=country[:, 0].astype(np.int64),
        country_traveller_id=country[:, 1].astype(np.int64),
        country_arrival=_days(country[:, 2]), country_departure=_days(country[:, 3]),
        country_slice=country_slice,
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
