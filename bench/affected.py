"""Benchmark: the affected set at national-registry scale, against baselines in the same run.

    .venv/bin/python bench/affected.py [--travellers 1000000] [--reuse] [--backends postgis,sqlite] [--record]

Seeds N synthetic registrations (travellers with 1-3 stops each, `registry.seed`: real
cities weighted by population, the same rows on both backends) into a PostgreSQL+PostGIS
database and an SQLite file, then times `count_affected` and `find_affected` for three
zones: France (a countries zone), a 300 km geodesic circle around Paris and a
continent-sized polygon (Europe's bounding box), over the next 7 days.

Baselines, measured in the same run on the same data:
* PostGIS: the hand-written `SELECT id, traveller_id, lat, lon FROM stops WHERE
  ST_Intersects(geom, ST_GeomFromText(:wkt, 4326)) AND <window>` (and its `count(*)`),
  with the zone's polygon (for the circle, its 256-vertex polygon).
* SQLite: a raw shapely STRtree query of the zone's polygon over the located stops in the
  window, points already in memory (tree built outside the timing). Our SQLite path answers
  from the in-process stop index (`registry.stop_index`), built once per registry version:
  its cold build time and size are printed and timed separately, and so is the count after
  a registration (the index replays the change log instead of rebuilding) and after a
  forced compaction (the changes merged into a new base in memory); the bench
  registrations are deleted afterwards.

The seeded databases stay after the run: PostgreSQL database `emergency_bench_<N>` on the
server of BENCH_PG_ADMIN_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres;
drop it by hand when done) and the SQLite file `bench/results/cache/affected-<N>.db`. With
`--reuse` a run keeps what they hold, so only the timings run again; without it they are
emptied and seeded afresh.

Ratios are printed; nothing is asserted. The run's entry (commit, library and server
versions, load; bench/provenance.py) is written under bench/results/; `--record` also
appends it to bench/RESULTS-affected.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy import create_engine, delete, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench import provenance  # noqa: E402
from emergency.core.database import make_engine  # noqa: E402
from emergency.core.migrate import upgrade  # noqa: E402
from geo.formats import countries_zone  # noqa: E402
from geo.zones import circle, parse_geojson  # noqa: E402
from registry import stop_index  # noqa: E402
from registry.affected import count_affected, find_affected  # noqa: E402
from registry.models import Stop, Traveller, Trip  # noqa: E402
from registry.seed import seed  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CACHE = provenance.RESULTS_DIR / "cache"  # git-ignored
RESULTS = ROOT / "bench" / "RESULTS-affected.md"
TODAY = date(2025, 6, 1)  # fixed, so a reused database answers the same window
REPEAT = 9  # PostGIS queries take 0.1-1 s
REPEAT_SQLITE = 21  # the in-memory path and its baseline take milliseconds: more runs, same median


def zones():
    return {
        "France (countries:FR)": countries_zone(["FR"]),
        "300 km circle, Paris": circle(48.8566, 2.3522, 300),
        "Europe bbox polygon": parse_geojson({"type": "Polygon", "coordinates": [[
            [-25, 34], [45, 34], [45, 72], [-25, 72], [-25, 34]]]}),
    }


def paired(*fns, repeat=REPEAT):
    """[(median seconds, last result)] for each function, after one warm-up each, the
    functions run in turn `repeat` times: a baseline and ours see the same moments of a
    shared machine, so their ratio does not carry the drift between two separate series."""
    results = [fn() for fn in fns]
    times = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - t0)
    return [(statistics.median(t), r) for t, r in zip(times, results)]


def prepare(url: str, n: int, reuse: bool) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        have = session.scalar(select(func.count()).select_from(Traveller))
        if have and reuse and have >= n:
            print(f"  reusing {have} travellers")
            _vacuum_once(engine)
            engine.dispose()
            return
        if have:
            session.execute(text("DELETE FROM stops"))
            session.execute(text("DELETE FROM trips"))
            session.execute(text("DELETE FROM travellers"))
            session.commit()
        t0 = time.perf_counter()
        done = 0
        while done < n:
            step = min(100_000, n - done)
            seed(session, step, rng_seed=42 + done, today=TODAY)
            session.commit()
            done += step
            print(f"  seeded {done}/{n} ({time.perf_counter() - t0:.0f} s)", flush=True)
    _vacuum_once(engine)
    engine.dispose()


def _vacuum_once(engine) -> None:
    """VACUUM ANALYZE the loaded tables unless done since the load, as autovacuum does after a
    bulk load (inserts trigger it since PostgreSQL 13): statistics for the planner and the
    visibility map for index-only scans. This machine's server runs with autovacuum off, so
    without this a freshly seeded registry would be measured as no production one is."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        unvacuumed = conn.scalar(text(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('travellers', 'trips', 'stops') "
            "AND (n_ins_since_vacuum > 0 OR n_dead_tup > 0 OR coalesce(last_vacuum, last_autovacuum) IS NULL)"))
    if unvacuumed:
        t0 = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) travellers, trips, stops"))
        print(f"  vacuumed and analysed in {time.perf_counter() - t0:.0f} s")


def pg_url(n: int) -> str:
    name = f"emergency_bench_{n}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def window_sql() -> str:
    return "(departure IS NULL OR departure >= :start) AND arrival <= :end"


def run_postgis(url: str, start: date, end: date) -> list[tuple]:
    engine = make_engine(url)
    rows = []
    with Session(engine) as session:
        # the baseline runs with the planner settings ours sets (registry.affected): planned
        # for its zone on every run (psycopg prepares a statement after five runs, and a
        # generic plan made without the zone made the baseline swing between 0.1 s and
        # 0.9 s) and without JIT (which only compiles the zone literal)
        session.execute(text("SET plan_cache_mode = force_custom_plan"))
        session.execute(text("SET jit = off"))
        for name, zone in zones().items():
            wkt = zone.geometry.wkt
            params = {"wkt": wkt, "start": start, "end": end}
            base_list = text("SELECT id, traveller_id, lat, lon FROM stops WHERE "
                             "ST_Intersects(geom, ST_GeomFromText(:wkt, 4326)) AND " + window_sql())
            base_count = text("SELECT count(*) FROM stops WHERE "
                              "ST_Intersects(geom, ST_GeomFromText(:wkt, 4326)) AND " + window_sql())
            (t_base_list, base_rows), (t_list, found) = paired(
                lambda: session.execute(base_list, params).all(),
                lambda: find_affected(session, zone, start, end))
            (t_base_count, _), (t_count, counted) = paired(
                lambda: session.execute(base_count, params).scalar(),
                lambda: count_affected(session, zone, start, end))
            rows.append(("PostGIS", name, len(base_rows), counted, t_base_count, t_count,
                         t_base_list, t_list))
            print_row(rows[-1])
    engine.dispose()
    return rows


def run_sqlite(url: str, start: date, end: date) -> list[tuple]:
    engine = make_engine(url)
    rows = []
    with Session(engine) as session:
        stop_index.clear()
        t0 = time.perf_counter()
        index = stop_index.current_index(session)
        build = time.perf_counter() - t0
        if index is None:
            print("  no registry version (migration 0006): the SQLite path reads the file")
        else:
            located = index.located_count
            country = index.country_count
            INDEX_NOTES.append(
                f"SQLite stop index: built in {build:.2f} s for {located + country} stops "
                f"({located} located, {country} country-only), {index.nbytes / 1e6:.1f} MB "
                f"({index.nbytes / (located + country):.0f} bytes per stop).")
            print("  " + INDEX_NOTES[-1])
        # the baseline's points: located stops in the window, already in memory
        pts = session.execute(text(
            "SELECT lon, lat FROM stops WHERE precision != 'country' AND " + window_sql()),
            {"start": start, "end": end}).all()
        xy = np.array(pts, dtype=float)
        tree = shapely.STRtree(shapely.points(xy))
        for name, zone in zones().items():
            geom = zone.geometry
            (t_base, hits), (t_list, found), (t_count, counted) = paired(
                lambda: tree.query(geom, predicate="intersects"),
                lambda: find_affected(session, zone, start, end),
                lambda: count_affected(session, zone, start, end), repeat=REPEAT_SQLITE)
            rows.append(("SQLite", name, len(hits), counted, t_base, t_count, t_base, t_list))
            print_row(rows[-1])
        if index is not None:
            time_registrations(session, start, end, build)
    engine.dispose()
    return rows


REGISTRATIONS = 5


def time_registrations(session: Session, start: date, end: date, build: float) -> None:
    """The crisis case: people register, a dashboard counts. Times the count after each of
    REGISTRATIONS committed registrations (the index replays the change log, migration
    0008), the counts once the overlay of changed stops is full (OVERLAY_LIMIT, written
    as one import), then the count after one more registration with the overlay limit at
    0 (the changes merged into a new base in memory: a compaction), next to the full
    rebuild timed above. The bench registrations are deleted afterwards, so a reused
    database keeps the same registry."""
    zone = zones()["300 km circle, Paris"]
    count_affected(session, zone, start, end)  # the index is current before the first one
    added, writes, made_by = [], [], []

    def register_and_count() -> float:
        t0 = time.perf_counter()
        traveller = Traveller(given_name="Bench", family_name="Registration",
                              email="bench@example.org")
        session.add(traveller)
        session.flush()
        trip = Trip(traveller_id=traveller.id)
        trip.stops.append(Stop(traveller_id=traveller.id, country="FR", lat=48.85, lon=2.35,
                               precision="city", place="Paris", arrival=start, departure=end))
        session.add(trip)
        session.commit()
        writes.append(time.perf_counter() - t0)
        added.append(traveller.id)
        t0 = time.perf_counter()
        count_affected(session, zone, start, end)
        elapsed = time.perf_counter() - t0
        made_by.append(stop_index.current_index(session).made_by)
        return elapsed

    counts = [register_and_count() for _ in range(REGISTRATIONS)]
    INDEX_NOTES.append(
        f"After one registration (committed in {statistics.median(writes):.4f} s), the next count "
        f"took {statistics.median(counts):.4f} s (median of {REGISTRATIONS}, max "
        f"{max(counts):.4f} s; index {made_by[0]!r}) against {build:.2f} s for a full rebuild.")
    print("  " + INDEX_NOTES[-1])

    # the worst case between two compactions: a full overlay, scanned by every query
    before = {name: _median_count(session, z, start, end) for name, z in zones().items()}
    room = stop_index.OVERLAY_LIMIT - stop_index.current_index(session).overlay_count
    added += _register_many(session, room, start, end)
    t0 = time.perf_counter()
    count_affected(session, zone, start, end)
    replay = time.perf_counter() - t0
    index = stop_index.current_index(session)
    after = {name: _median_count(session, z, start, end) for name, z in zones().items()}
    limit, stop_index.OVERLAY_LIMIT = stop_index.OVERLAY_LIMIT, 0
    try:
        compaction = register_and_count()
    finally:
        stop_index.OVERLAY_LIMIT = limit
    session.execute(delete(Traveller).where(Traveller.id.in_(added)))  # stops cascade
    session.commit()
    t0 = time.perf_counter()
    count_affected(session, zone, start, end)
    cleanup = time.perf_counter() - t0
    INDEX_NOTES.append(
        f"{room} registrations in one transaction: the next count took {replay:.2f} s (index "
        f"{index.made_by!r}, {index.overlay_count} stops in the overlay); counts with that "
        "overlay against a nearly empty one: "
        + ", ".join(f"{name} {after[name]:.4f} s / {before[name]:.4f} s" for name in before)
        + f" (median of 5). One more registration with the overlay limit forced to 0: the "
        f"count took {compaction:.2f} s (index {made_by[-1]!r}: the changes merged into a new "
        f"base in memory, no table read). Deleting the {len(added)} bench registrations: the "
        f"next count took {cleanup:.2f} s.")
    print("  " + INDEX_NOTES[-1])


def _median_count(session: Session, zone, start: date, end: date) -> float:
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        count_affected(session, zone, start, end)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _register_many(session: Session, n: int, start: date, end: date) -> list[int]:
    """n travellers with one city stop each, anywhere in Europe's box, in the window."""
    rng = np.random.default_rng(7)
    ids = session.scalars(insert(Traveller).returning(Traveller.id), [
        {"given_name": "Bench", "family_name": f"Import {i}", "email": "bench@example.org"}
        for i in range(n)]).all()
    trips = session.scalars(insert(Trip).returning(Trip.id),
                            [{"traveller_id": tid} for tid in ids]).all()
    lats, lons = rng.uniform(36, 70, n), rng.uniform(-10, 40, n)
    session.execute(insert(Stop), [
        {"trip_id": trip, "traveller_id": tid, "country": "FR", "lat": float(lat),
         "lon": float(lon), "precision": "city", "arrival": start, "departure": end}
        for trip, tid, lat, lon in zip(trips, ids, lats, lons)])
    session.commit()
    return list(ids)


INDEX_NOTES: list[str] = []

HEADER = ("| backend | zone | baseline hits | travellers | baseline count s | count s | ratio "
          "| baseline list s | list s | ratio |")


def print_row(row) -> None:
    print(format_row(row), flush=True)


def format_row(row) -> str:
    backend, name, hits, counted, tbc, tc, tbl, tl = row
    return (f"| {backend} | {name} | {hits} | {counted} | {tbc:.4f} | {tc:.4f} | {tc / tbc:.2f}x "
            f"| {tbl:.4f} | {tl:.4f} | {tl / tbl:.2f}x |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--travellers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="time the databases a previous run seeded, without seeding again")
    parser.add_argument("--backends", default="postgis,sqlite")
    parser.add_argument("--record", action="store_true",
                        help=provenance.RECORD_HELP.format(file="bench/RESULTS-affected.md"))
    args = parser.parse_args(argv)
    command = provenance.command_line(__file__, argv)
    with provenance.Run("affected", RESULTS, record=args.record, command=command) as run:
        run.result(measure(args, run))
    return 0


def measure(args, run: provenance.Run) -> str:
    """Seed (or reuse), time both backends, and return the Markdown summary of the run."""
    n = args.travellers
    start, end = TODAY, TODAY + timedelta(days=7)
    results = []
    backends = args.backends.split(",")
    if "postgis" in backends:
        url = pg_url(n)
        print(f"PostGIS: preparing {n} travellers in {url}")
        prepare(url, n, args.reuse)
        run.add_database(url)
        results += run_postgis(url, start, end)
    if "sqlite" in backends:
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"affected-{n}.db"
        if path.exists() and not args.reuse:
            path.unlink()
        url = f"sqlite:///{path}"
        print(f"SQLite: preparing {n} travellers in {path}")
        prepare(url, n, args.reuse)
        run.add_database(url)
        results += run_sqlite(url, start, end)
    with make_engine(url).connect() as conn:
        stops = conn.scalar(select(func.count()).select_from(Stop.__table__))
    lines = [
        f"{n} travellers, {stops} stops; window {start} .. {end}; median of {REPEAT} runs "
        f"(PostGIS) or {REPEAT_SQLITE} runs (SQLite) after a warm-up, baseline and ours in turn. "
        "Ratio = ours / baseline (PostGIS: hand-written ST_Intersects query on the same "
        "table; SQLite: raw shapely STRtree query over the window's located points in memory). "
        "The baseline's hits are stops; our count is travellers (deduplicated, country-only "
        "stops of touched countries included).", "",
        HEADER, "|" + "---|" * 10,
        *[format_row(r) for r in results], "",
        *INDEX_NOTES,
    ]
    summary = "\n".join(lines)
    print("\n" + summary)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
