"""An in-process index of where and when every stop is, for the SQLite affected set.

Without it the SQLite path re-reads the window's stops from the file on every call
(0.4-1.9 s at 170k stops), because SQLite has no index that narrows by place. The stops'
coordinates, dates, travellers and countries, and what an answer shows (how each stop was
located, its place), are read once into numpy arrays (texts as codes of one shared list),
with a spatial grid over the located stops, and kept up to date as the registry changes:
an affected set is answered without reading the file (reading the winners' rows cost
0.5 s for a continent's 90k travellers; since 0010 the place is logged like the rest).

Never stale: the cache is keyed by the database URL and `registry_version.version`, which
SQLite triggers set to a fresh random value on every insert, delete and update of a cached
column of `stops` (migrations 0006, 0008 and 0010). Each call reads the version (one tiny query)
and, when it differs, brings an index up to date; the version is read again afterwards, so
rows that changed while they were read are used for that call only and never cached. A
transaction's own uncommitted writes change the version too, so it gets an index of what
it sees. If the version table or a trigger is missing (a database not migrated, or a
later migration rebuilt `stops` and dropped the triggers) `current_index` returns None and
the caller reads the database as before: slower, never wrong.

Up to date without re-reading the table: since migration 0008 the triggers write the
version and a row of `stop_changes` together: (seq, stop id, prev = the version before,
tag = the version after). The log is the version's history. An index of version V keeps
the seq of the last log row it includes (`anchor`; that row's tag is V). When the version
moves, the cached index of the same database with the newest anchor whose row is still in
the log with tag V is the parent (a rolled-back transaction's seqs are handed out again,
never with the same tag). One statement reads the log from that row on and the current
version, and they must chain: each row's `prev` is the tag before it and the last tag is
the version. If they do not, the version changed without a log row (0006's trigger bodies
put back by a later migration, a hand-made update) and the index is rebuilt from the table
rather than miss those writes. Otherwise only the changed stops' current rows are read, by
primary key, and the new index shares the parent's arrays: the changed stops' old entries
are flagged in `gone` (one byte per stop, copied only when a stop of the base changed) and
their current rows form a small `overlay` that every query scans in full (no grid; the
exact zone test decides). Measured at 1.7M stops on an idle 2-core box, where a full
rebuild took 2.7 s (25 s when loaded; 6-7 s since it reads places too): 0.5-0.7 ms to follow a registration or a moved stop
(9 ms for the first one of a process), 0.07 s for 20k registrations at once, and a full
overlay (`OVERLAY_LIMIT` = 20k stops) adds about 1 ms per query. The change that takes
the overlay past that limit merges it into a new base in memory (a compaction: the arrays
re-sorted, no file read: 0.57 s). A full rebuild from the table remains for the first
index of a process, a database without the log (migrated only to 0006), an anchor pruned
from the log (0008 keeps its last 100k rows), a broken chain, or more than `REPLAY_LIMIT`
changes (and a quarter of the stops) behind. The answers are those of a full rebuild: the
same rows, only their order inside the arrays differs, and no caller depends on it.

The spatial index is a 1-degree grid (stops sorted by cell, with each cell's first
position), not a shapely STRtree: an STRtree over the points costs about 430 bytes of
memory per stop and 0.6 s to build per 150k stops (GEOS point objects); the grid adds
no per-stop memory (the stops are stored sorted by cell) and answers a zone's boxes with slices.
Memory: about 56 bytes per stop (measured: 95.7 MB for 1.7M stops; the columns take 52,
with 12 for the three text codes, the by-id order that finds a changed stop 4) plus 0.5 MB of grid offsets and room for
2 * OVERLAY_LIMIT replayed stops (1.6 MB); indexes derived from one another share all of
it, and at most `MAX_ENTRIES` indexes are kept per process, least recently used out.
Thread-safe: an index never changes once built (replayed rows go to slots after every
existing index's end, each handed out once) and indexes are built or derived under a lock.
See bench/affected.py for the figures.
"""
from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from operator import itemgetter
from typing import Iterable

import numpy as np
import shapely
from sqlalchemy.orm import Session

from geo.join import located_mask
from geo.zones import Zone

MAX_ENTRIES = 2  # indexes kept per process, least recently used out (e.g. a write
# transaction's view and the committed one)
OVERLAY_LIMIT = 20_000  # changed stops kept beside the base before a compaction
REPLAY_LIMIT = 50_000  # log rows replayed at most (beyond 1000: at most a quarter of the stops)
OPEN = np.iinfo(np.int32).max  # the day number of "no departure date"
TRIGGERS = ("stops_version_insert", "stops_version_delete", "stops_version_update")
# how an index was made (StopIndex.made_by)
FULL, REPLAYED, COMPACTED = "full rebuild", "replayed changes", "compacted"
_JULIAN_DAY_OF_ORDINAL_0 = 1721424.5  # julianday(d) - this == d.toordinal()
_CELL_DEG = 1.0
_COLS = int(360 / _CELL_DEG)
_ROWS = int(180 / _CELL_DEG)

_SCHEMA_SQL = (
    "SELECT name, sql FROM sqlite_master WHERE (type = 'table' AND name IN "
    "('registry_version', 'stop_changes')) OR (type = 'trigger' AND tbl_name = 'stops' "
    "AND name IN ({}))".format(", ".join(f"'{name}'" for name in TRIGGERS))
)
_VERSIONED = frozenset({"registry_version", *TRIGGERS})
_VERSION_SQL = "SELECT version FROM registry_version WHERE id = 1"
_SNAPSHOT_VERSION = "(SELECT version FROM registry_version WHERE id = 1)"
_LAST_CHANGE_SQL = f"SELECT seq, tag, {_SNAPSHOT_VERSION} FROM stop_changes ORDER BY seq DESC LIMIT 1"
# the anchor row (if still there), the changes after it and the version: one snapshot
_CHANGES_SQL = (f"SELECT seq, prev, tag, stop_id, {_SNAPSHOT_VERSION} FROM stop_changes "
                "WHERE seq >= ? ORDER BY seq LIMIT ?")
_LOCATED_WHERE = "precision != 'country' AND lat IS NOT NULL AND lon IS NOT NULL"
_COUNTRY_WHERE = "precision = 'country'"
_LOCATED_SQL = (
    "SELECT id, traveller_id, lon, lat, julianday(arrival), "
    f"coalesce(julianday(departure), 1e12), precision, country, place FROM stops WHERE {_LOCATED_WHERE}"
)
_COUNTRY_SQL = (
    "SELECT country, id, traveller_id, julianday(arrival), coalesce(julianday(departure), 1e12), "
    f"place, lat, lon FROM stops WHERE {_COUNTRY_WHERE} ORDER BY country"
)
# the changed stops' current rows, classified by the same conditions as the two above
_CHANGED_SQL = (
    "SELECT id, traveller_id, lon, lat, julianday(arrival), "
    f"coalesce(julianday(departure), 1e12), precision, country, place, {_LOCATED_WHERE}, "
    f"{_COUNTRY_WHERE} FROM stops WHERE id IN (SELECT value FROM json_each(?))"
)
_READ_CHUNK = 200_000  # rows read from the table at a time while building
_COLUMNS = ("stop_id", "traveller_id", "lon", "lat", "arrival", "departure",
            "located_by", "country", "place")
_COLUMN_TYPES = ("i8", "i8", "f8", "f8", "i4", "i4", "i4", "i4", "i4")
_TEXT_COLUMNS = ("located_by", "country", "place")  # stored as codes of `_words`

# Every text the index stores (how a stop was located, its country, its place), once, with
# its code; code 0 is None. Append-only and written under the module lock, so a code an
# index holds always reads back the same text, whichever index or thread reads it.
_words: list[str | None] = [None]
_word_codes: dict[str | None, int] = {None: 0}


def _encode(values) -> np.ndarray:
    """Codes of these texts (a sequence), new texts added. Under the module lock."""
    for value in set(values).difference(_word_codes):
        _word_codes[value] = len(_words)
        _words.append(value)
    return np.fromiter(map(_word_codes.__getitem__, values), dtype=np.int32, count=len(values))


_words_array = np.array([None], dtype=object)  # `_words` as an array, for gathering


def words(codes: np.ndarray) -> list[str | None]:
    """The texts of these codes (a gather from an array of the texts, redone when texts
    were added: three times faster than looking each code up in the list)."""
    global _words_array
    table = _words_array
    if table.size != len(_words):
        table = np.empty(len(_words), dtype=object)
        table[:] = _words[:table.size]
        _words_array = table
    return table[codes].tolist()


class _Store:
    """The located stops' columns: the base (sorted by grid cell) then room for replayed
    rows. A slot is handed out once and written once, after every slot handed out before,
    so what an index can reach never changes; the derived indexes of one base share it.
    Used under the module lock."""

    def __init__(self, columns: dict[str, np.ndarray], room: int) -> None:
        self.base = int(columns["stop_id"].size)
        self.capacity = self.base + room
        for name, dtype in zip(_COLUMNS, _COLUMN_TYPES):
            array = np.empty(self.capacity, dtype=dtype)
            array[:self.base] = columns[name]
            setattr(self, name, array)
        self.used = self.base

    def has_room(self, count: int) -> bool:
        return self.used + count <= self.capacity

    def append(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Write rows to fresh slots; their positions."""
        count = int(columns["stop_id"].size)
        first, self.used = self.used, self.used + count
        for name in _COLUMNS:
            getattr(self, name)[first:self.used] = columns[name]
        return np.arange(first, self.used, dtype=np.int64)

    def view(self, name: str) -> np.ndarray:
        """A column as far as it is written now (what an index made now can reach)."""
        return getattr(self, name)[:self.used]

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in _COLUMNS)


@dataclass(frozen=True)
class _CountryRows:
    """Country-only stops as parallel arrays (the replayed ones, or the input of a build)."""

    code: np.ndarray  # str
    stop_id: np.ndarray  # int64
    traveller_id: np.ndarray  # int64
    arrival: np.ndarray  # int32 day numbers
    departure: np.ndarray  # int32 day numbers, OPEN when there is no departure date
    place: np.ndarray  # int32 codes of `_words` (None, as a rule, for a country-only stop)
    lat: np.ndarray  # float64, NaN when not given (as a rule)
    lon: np.ndarray  # float64

    @staticmethod
    def empty() -> "_CountryRows":
        return _CountryRows(np.zeros(0, dtype="U2"),
                            *(np.zeros(0, dtype=t) for t in ("i8", "i8", "i4", "i4", "i4", "f8", "f8")))

    @staticmethod
    def from_rows(rows: list[tuple]) -> "_CountryRows":
        """From (country, id, traveller id, julian arrival, julian departure or 1e12, place,
        lat, lon) rows. Under the module lock (places are encoded)."""
        columns = list(zip(*rows)) or [()] * 8
        return _CountryRows(np.array(columns[0], dtype="U2").reshape(-1),
                            np.array(columns[1], dtype=np.int64), np.array(columns[2], dtype=np.int64),
                            _days(np.array(columns[3], dtype=float)),
                            _days(np.array(columns[4], dtype=float)),
                            _encode(columns[5]), _floats(columns[6]), _floats(columns[7]))

    def __len__(self) -> int:
        return int(self.stop_id.size)

    def take(self, which: np.ndarray) -> "_CountryRows":
        return _CountryRows(*(getattr(self, f.name)[which] for f in dataclasses.fields(self)))

    def without(self, stop_ids: np.ndarray) -> "_CountryRows":
        return self.take(~np.isin(self.stop_id, stop_ids)) if len(self) else self

    def plus(self, other: "_CountryRows") -> "_CountryRows":
        if not len(other):
            return self
        return _CountryRows(*(np.concatenate((getattr(self, f.name), getattr(other, f.name)))
                              for f in dataclasses.fields(self)))

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in dataclasses.fields(self))


@dataclass(frozen=True, eq=False)
class StopIndex:
    """Where and when the stops are, as of one registry version. The base's located stops
    are sorted by grid cell; `cell_start[c]` is the position of cell c's first stop.
    Positions past the base (`overlay`) hold stops changed since the base was built; base
    entries whose stop changed since are flagged in `gone`."""

    version: int
    anchor: int | None  # seq of the last change-log row included (its tag is `version`)
    made_by: str  # FULL, REPLAYED or COMPACTED
    # located stops, by position: the base, then replayed rows (only `overlay`'s are ours)
    stop_id: np.ndarray  # int64
    traveller_id: np.ndarray  # int64
    lon: np.ndarray  # float64, as stored
    lat: np.ndarray  # float64
    arrival: np.ndarray  # int32 day numbers (date.toordinal())
    departure: np.ndarray  # int32 day numbers, OPEN when there is no departure date
    located_by: np.ndarray  # int32 codes of `_words`: 'point' or 'city'
    country: np.ndarray  # int32 codes of `_words`
    place: np.ndarray  # int32 codes of `_words`
    cell_start: np.ndarray  # int64, _ROWS * _COLS + 1 entries, over the base
    edge: np.ndarray  # base positions of stops on the antimeridian (lon ±180): always candidates
    by_id: np.ndarray  # int32 base positions in stop id order (finds a changed stop)
    gone: np.ndarray | None  # bool per base position: changed or deleted since the base
    overlay: np.ndarray  # int64 positions past the base: the changed stops' current rows
    # country-only stops of the base, sorted by country; `country_slice[code]` = (first, end)
    country_stop_id: np.ndarray  # int64
    country_traveller_id: np.ndarray  # int64
    country_arrival: np.ndarray  # int32 day numbers
    country_departure: np.ndarray  # int32 day numbers, OPEN when there is no departure date
    country_place: np.ndarray  # int32 codes of `_words`
    country_lat: np.ndarray  # float64 (NaN: none)
    country_lon: np.ndarray  # float64
    country_slice: dict
    country_by_id: np.ndarray  # int32 base positions in stop id order
    country_gone: np.ndarray | None  # bool per base position
    country_overlay: _CountryRows  # the changed country-only stops' current rows
    store: _Store  # shared by the indexes derived from the same base

    @property
    def located_count(self) -> int:
        """How many located stops this index holds."""
        gone = 0 if self.gone is None else int(np.count_nonzero(self.gone))
        return self.store.base - gone + int(self.overlay.size)

    @property
    def country_count(self) -> int:
        """How many country-only stops this index holds."""
        gone = 0 if self.country_gone is None else int(np.count_nonzero(self.country_gone))
        return int(self.country_stop_id.size) - gone + len(self.country_overlay)

    @property
    def overlay_count(self) -> int:
        """Stops changed since the base was built (scanned in full by every query)."""
        return int(self.overlay.size) + len(self.country_overlay)

    @property
    def nbytes(self) -> int:
        """Memory held (the store's room included; shared with derived indexes)."""
        arrays = [self.cell_start, self.edge, self.by_id, self.overlay, self.country_stop_id,
                  self.country_traveller_id, self.country_arrival, self.country_departure,
                  self.country_place, self.country_lat, self.country_lon, self.country_by_id]
        arrays += [a for a in (self.gone, self.country_gone) if a is not None]
        return self.store.nbytes + sum(a.nbytes for a in arrays) + self.country_overlay.nbytes

    def located(self, zone: Zone, start_day: int, end_day: int | None) -> np.ndarray:
        """Positions of the located stops in the window and in the zone (circles: within
        the geodesic radius), in position order."""
        pos = self._candidates(zone)
        if self.gone is not None and pos.size:
            pos = pos[~self.gone[pos]]
        if self.overlay.size:  # few: no grid, the exact test below decides
            pos = np.concatenate((pos, self.overlay))
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
        rows = self.country_rows(countries, start_day, end_day)
        return rows.stop_id, rows.traveller_id

    def country_rows(self, countries: Iterable[str], start_day: int,
                     end_day: int | None) -> _CountryRows:
        """The country-only stops of these countries in the window."""
        countries = set(countries)
        slices = [self.country_slice[c] for c in countries if c in self.country_slice]
        pos = (np.concatenate([np.arange(first, end) for first, end in slices])
               if slices else np.zeros(0, dtype=np.int64))
        keep = self.country_departure[pos] >= start_day
        if end_day is not None:
            keep &= self.country_arrival[pos] <= end_day
        if self.country_gone is not None:
            keep &= ~self.country_gone[pos]
        pos = pos[keep]
        found = _CountryRows(self._country_codes(pos), self.country_stop_id[pos], self.country_traveller_id[pos],
                             self.country_arrival[pos], self.country_departure[pos],
                             self.country_place[pos], self.country_lat[pos], self.country_lon[pos])
        extra = self.country_overlay
        if len(extra) and countries:
            keep = np.isin(extra.code, list(countries)) & (extra.departure >= start_day)
            if end_day is not None:
                keep &= extra.arrival <= end_day
            found = found.plus(extra.take(keep))
        return found

    def _country_codes(self, pos: np.ndarray) -> np.ndarray:
        """The country code of these base positions (the base is sorted by country)."""
        slices = sorted((first, code) for code, (first, _end) in self.country_slice.items())
        firsts = np.array([first for first, _ in slices], dtype=np.int64)
        codes = np.array([code for _, code in slices], dtype="U2")
        return codes[np.searchsorted(firsts, pos, side="right") - 1] if pos.size else codes[:0]

    def _candidates(self, zone: Zone) -> np.ndarray:
        """Base positions of the stops in the grid cells that the zone's parts' boxes cover."""
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
        # the update trigger must fire on a change of place (migration 0010): the index
        # shows places; before 0010 a renamed place would go unseen, so read the file
        present = {name for name, sql in cursor.execute(_SCHEMA_SQL)
                   if name != "stops_version_update" or _fires_on_place(sql)}
        if not present >= _VERSIONED:
            return None
        row = cursor.execute(_VERSION_SQL).fetchone()
        if row is None or row[0] is None:
            return None
        version = int(row[0])
        url = conn.engine.url.render_as_string(hide_password=False)
        key = (url, version)
        index = _cache.get(key)
        if index is not None:
            _touch(key)
            return index
        with _lock:
            index = _cache.get(key)
            if index is not None:
                _cache.move_to_end(key)
                return index
            logged = "stop_changes" in present
            index = _replayed(cursor, url) if logged else None
            if index is None:
                index = _build(cursor, version, logged)
            if cursor.execute(_VERSION_SQL).fetchone()[0] == index.version:
                _cache[(url, index.version)] = index
                while len(_cache) > MAX_ENTRIES:
                    _cache.popitem(last=False)
            # else: stops changed while they were read; good for this call, never cached
            return index
    finally:
        cursor.close()


def _fires_on_place(trigger_sql: str | None) -> bool:
    """Whether an `AFTER UPDATE OF ... ON stops` trigger lists the place column."""
    columns = (trigger_sql or "").partition(" UPDATE OF ")[2].partition(" ON ")[0]
    return "place" in {c.strip().lower() for c in columns.split(",")}


def _touch(key) -> None:
    """Keep a used index longest (the committed view outlives a rolled-back transaction's,
    so it stays a parent), unless the lock is busy: a hit never waits for a build."""
    if _lock.acquire(blocking=False):
        try:
            if key in _cache:
                _cache.move_to_end(key)
        finally:
            _lock.release()


def clear() -> None:
    """Forget every index (tests, or to free the memory)."""
    with _lock:
        _cache.clear()


# --------------------------------------------------------------------------- replaying the log


def _replayed(cursor, url: str) -> StopIndex | None:
    """A cached index of this database brought up to date from the change log, or None
    (no parent whose history still holds, a version change that is not in the log, or too
    far behind: rebuild)."""
    parents = sorted((index for (u, _v), index in _cache.items()
                      if u == url and index.anchor is not None),
                     key=lambda index: index.anchor, reverse=True)
    for parent in parents:
        limit = min(REPLAY_LIMIT, max(1_000, (parent.located_count + parent.country_count) // 4))
        rows = cursor.execute(_CHANGES_SQL, (parent.anchor, limit + 2)).fetchall()
        if not rows or rows[0][0] != parent.anchor or rows[0][2] != parent.version:
            continue  # pruned, or written by a transaction that rolled back: not our history
        if len(rows) > limit + 1:
            return None
        version = rows[0][4]
        if rows[-1][2] != version or any(row[1] != before[2] for before, row in zip(rows, rows[1:])):
            return None  # the version changed without a log row: writes we cannot replay
        changed = np.unique(np.array([row[3] for row in rows[1:]], dtype=np.int64))
        return _replay(cursor, parent, changed, version, rows[-1][0])
    return None


def _replay(cursor, parent: StopIndex, changed: np.ndarray, version: int,
            anchor: int) -> StopIndex:
    """`parent` with the stops `changed` (ids) replaced by their current rows."""
    located, country = _read_changed(cursor, changed)
    store = parent.store
    gone = _flag(parent.gone, _find(parent.stop_id, parent.by_id, changed), store.base)
    country_gone = _flag(parent.country_gone,
                         _find(parent.country_stop_id, parent.country_by_id, changed),
                         parent.country_stop_id.size)
    kept = parent.overlay[~np.isin(parent.stop_id[parent.overlay], changed)]
    country_overlay = parent.country_overlay.without(changed).plus(country)
    added = located["stop_id"].size
    if (kept.size + added + len(country_overlay) > OVERLAY_LIMIT
            or not store.has_room(added)):
        return _compact(parent, gone, kept, located, country_gone, country_overlay, version, anchor)
    overlay = np.concatenate((kept, store.append(located))) if added else kept
    return dataclasses.replace(
        parent, version=version, anchor=anchor, made_by=REPLAYED,
        **{name: store.view(name) for name in _COLUMNS},
        gone=gone, overlay=overlay, country_gone=country_gone, country_overlay=country_overlay)


def _read_changed(cursor, ids: np.ndarray) -> tuple[dict[str, np.ndarray], _CountryRows]:
    """The current rows of these stops (deleted ones have none): located, country-only."""
    rows = cursor.execute(_CHANGED_SQL, (json.dumps(ids.tolist()),)).fetchall() if ids.size else []
    located_columns = _located_columns([r[:9] for r in rows if r[9]])
    country_rows = _CountryRows.from_rows([(r[7], r[0], r[1], r[4], r[5], r[8], r[3], r[2])
                                           for r in rows if r[10]])
    return located_columns, country_rows


def _located_columns(rows: list[tuple]) -> dict[str, np.ndarray]:
    """The store's columns from (id, traveller id, lon, lat, julian arrival, julian departure
    or 1e12, precision, country, place) rows: one column at a time (itemgetter in C; a
    transposition with zip(*rows) took most of a build). Under the module lock (texts are
    encoded)."""
    n = len(rows)

    def column(i: int, dtype) -> np.ndarray:
        return np.fromiter(map(itemgetter(i), rows), dtype=dtype, count=n)

    return {
        "stop_id": column(0, np.int64), "traveller_id": column(1, np.int64),
        "lon": column(2, float), "lat": column(3, float),
        "arrival": _days(column(4, float)), "departure": _days(column(5, float)),
        **{name: _encode(list(map(itemgetter(i), rows))) for i, name in enumerate(_TEXT_COLUMNS, 6)},
    }


def _find(stop_id: np.ndarray, by_id: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Base positions of those of `ids` (sorted) that the base holds: a binary search of
    `stop_id[by_id]` (sorted) for all of them at once, without materialising it."""
    n = by_id.size
    if n == 0 or ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo = np.zeros(ids.size, dtype=np.int64)
    hi = np.full(ids.size, n, dtype=np.int64)
    while True:
        active = lo < hi
        if not active.any():
            break
        mid = (lo + hi) // 2
        right = active & (stop_id[by_id[np.minimum(mid, n - 1)]] < ids)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(active & ~right, mid, hi)
    held = lo < n
    at = by_id[lo[held]].astype(np.int64)
    return at[stop_id[at] == ids[held]]


def _flag(gone: np.ndarray | None, positions: np.ndarray, size: int) -> np.ndarray | None:
    """`gone` with these positions set (a copy: the parent's stays as it was)."""
    if positions.size == 0:
        return gone
    gone = np.zeros(size, dtype=bool) if gone is None else gone.copy()
    gone[positions] = True
    return gone


def _compact(parent: StopIndex, gone, kept: np.ndarray, located: dict[str, np.ndarray],
             country_gone, country_overlay: _CountryRows, version: int, anchor: int) -> StopIndex:
    """A new base from the parent's live rows and the changed ones: memory only."""
    base = np.arange(parent.store.base) if gone is None else np.flatnonzero(~gone)
    live = np.concatenate((base, kept))
    columns = {name: np.concatenate((getattr(parent, name)[live], located[name]))
               for name in _COLUMNS}
    slices = sorted(parent.country_slice.items(), key=lambda item: item[1])
    codes = np.repeat(np.array([code for code, _ in slices], dtype=str),
                      [end - first for _, (first, end) in slices])
    country = _CountryRows(codes, parent.country_stop_id, parent.country_traveller_id,
                           parent.country_arrival, parent.country_departure, parent.country_place,
                           parent.country_lat, parent.country_lon)
    if country_gone is not None:
        country = country.take(~country_gone)
    return _assemble(columns, country.plus(country_overlay), version, anchor, COMPACTED)


# --------------------------------------------------------------------------- building


def _build(cursor, version: int, logged: bool) -> StopIndex:
    """An index of the whole table. The last change is read first: a row written while the
    table is read is then after the anchor and will be replayed (and this index is not
    cached: the version moved). It is an anchor only if its tag is the version: else the
    version changed without the log (0006's triggers, no log) and no replay can be trusted."""
    last = cursor.execute(_LAST_CHANGE_SQL).fetchone() if logged else None
    cursor.execute(_LOCATED_SQL)
    chunks = []
    while rows := cursor.fetchmany(_READ_CHUNK):  # a chunk at a time: 1.7M tuples at once
        chunks.append(_located_columns(rows))  # would hold a few hundred MB
    columns = {name: np.concatenate([c[name] for c in chunks]) if chunks else np.zeros(0, dtype=t)
               for name, t in zip(_COLUMNS, _COLUMN_TYPES)}
    country = _CountryRows.from_rows(cursor.execute(_COUNTRY_SQL).fetchall())
    anchor = last[0] if last is not None and last[1] == last[2] == version else None
    return _assemble(columns, country, version, anchor, FULL)


def _assemble(columns: dict[str, np.ndarray], country: _CountryRows, version: int,
              anchor: int | None, made_by: str) -> StopIndex:
    """The index of these rows: located stops sorted by grid cell, country-only ones by
    country, both with their by-id order."""
    lon, lat = columns["lon"], columns["lat"]
    wrapped = (lon + 180.0) % 360.0 - 180.0
    wrapped[lon == 180.0] = 180.0
    cell = _row(lat) * _COLS + _col(wrapped)
    order = np.argsort(cell, kind="stable")
    cell, wrapped = cell[order], wrapped[order]
    store = _Store({name: columns[name][order] for name in _COLUMNS}, room=2 * OVERLAY_LIMIT)
    cell_start = np.searchsorted(cell, np.arange(_ROWS * _COLS + 1), side="left").astype(np.int64)

    country = country.take(np.argsort(country.code, kind="stable"))
    bounds = np.flatnonzero(country.code[1:] != country.code[:-1]) + 1
    firsts = np.concatenate(([0], bounds)) if len(country) else np.zeros(0, dtype=np.int64)
    ends = np.append(bounds, len(country)) if len(country) else firsts
    country_slice = {str(country.code[f]): (int(f), int(e)) for f, e in zip(firsts, ends)}

    return StopIndex(
        version=version, anchor=anchor, made_by=made_by,
        **{name: store.view(name) for name in _COLUMNS},
        cell_start=cell_start, edge=np.flatnonzero(np.abs(wrapped) == 180.0),
        by_id=_id_order(store.view("stop_id")), gone=None,
        overlay=np.zeros(0, dtype=np.int64),
        country_stop_id=country.stop_id, country_traveller_id=country.traveller_id,
        country_arrival=country.arrival, country_departure=country.departure,
        country_place=country.place, country_lat=country.lat, country_lon=country.lon,
        country_slice=country_slice, country_by_id=_id_order(country.stop_id),
        country_gone=None, country_overlay=_CountryRows.empty(), store=store,
    )


def _id_order(stop_ids: np.ndarray) -> np.ndarray:
    return np.argsort(stop_ids).astype(np.int32)


def _floats(values) -> np.ndarray:
    """Floats with None as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


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
