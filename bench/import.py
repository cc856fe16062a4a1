"""Import throughput against a plain bulk insert of the same rows, same database, same run.

    .venv/bin/python bench/import.py [--rows 100000] [--database sqlite|postgres|both] [--record]

For each database type, a fresh database is created and migrated (SQLite: a temporary file;
PostgreSQL: a temporary database with PostGIS on the server of BENCH_PG_ADMIN_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres, dropped at the end). N CSV rows are
generated (one row per stop, 1-3 stops per traveller; about 60 % city names the importer
resolves with the gazetteer, 25 % map points, 15 % country only).

* importer: `registry.importer.import_csv` on the CSV text (parsing, validation of every
  field with the web form's validators, place resolution, upsert), then commit.
* baseline: the rows the importer ends up writing (travellers, trips, stops; city names
  already resolved outside the timing) inserted into the same, emptied tables with no
  checks at all and client-side ids: SQLAlchemy Core executemany on SQLite, and on
  PostgreSQL `COPY ... FROM STDIN` through psycopg's `cursor.copy` (the fastest way in).

It prints rows/s (wall clock) for both, this process's CPU seconds (less sensitive to a busy
machine; on PostgreSQL the server's own work is not in it), and the ratio importer/baseline.
The gazetteer is loaded before any timing, so neither side pays for it. Nothing is
asserted: this measures.

The run's entry (commit, library and server versions, load; bench/provenance.py) is written
under bench/results/; `--record` also appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench import provenance  # noqa: E402
from devtools.pgdb import throwaway_database  # noqa: E402
from emergency.core.database import make_engine  # noqa: E402
from emergency.core.migrate import upgrade  # noqa: E402
from geo import countries, gazetteer  # noqa: E402
from registry.importer import COLUMNS, IMPORT_TRIP_PURPOSE, import_csv  # noqa: E402
from registry.models import Stop, Traveller, Trip  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
GIVEN = ["Anne", "Luc", "Marie-Ève", "John", "Zoë", "Hélène", "Omar", "Li", "Sophie", "Jean"]
FAMILY = ["Smith", "Côté", "Tremblay", "Nguyen", "O'Brien", "Gagnon", "Roy", "Martin", "Lee"]


def _cities(limit: int = 400) -> list[tuple[str, str, float, float]]:
    """Big cities the gazetteer resolves within their country: (country, name, lat, lon)."""
    table = gazetteer.cities_table()
    cols = (table.names, table.lats, table.lons, table.countries, table.populations)
    rows = sorted(zip(*cols), key=lambda r: -float(r[4]))
    out = []
    for name, _lat, _lon, code, _pop in rows:
        code = str(code).upper()
        if not countries.is_country(code) or code == "CA":
            continue
        place = gazetteer.resolve_place(code, str(name))
        if place is not None:
            out.append((code, place.name, float(place.lat), float(place.lon)))
        if len(out) >= limit:
            break
    return out


def generate(n_rows: int, seed: int = 7):
    """The CSV text and, for the baseline, the resolved rows: (travellers, trips, stops)."""
    rng = random.Random(seed)
    cities = _cities()
    codes = sorted({c for c, *_ in cities})
    start = date.today() + timedelta(days=30)
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    travellers, trips, stops = [], [], []
    now = datetime.now(timezone.utc)
    rows = 0
    t = 0
    while rows < n_rows:
        t += 1
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        email = f"traveller{t}@example.org"
        phone = f"+1 613 555 01{t % 100:02d}"
        language = "fr" if rng.random() < 0.25 else "en"
        travellers.append({"id": t, "external_id": f"B-{t:07d}", "given_name": given, "family_name": family,
                           "email": email, "phone": f"+1613555{t % 100 + 100:04d}", "language": language,
                           "source": "import", "consent_at": now, "created_at": now, "updated_at": now})
        trips.append({"id": t, "traveller_id": t, "purpose": IMPORT_TRIP_PURPOSE, "created_at": now})
        arrival = start + timedelta(days=rng.randint(0, 300))
        for _ in range(min(rng.choice((1, 1, 2, 2, 3)), n_rows - rows)):
            departure = arrival + timedelta(days=rng.randint(1, 14))
            kind = rng.random()
            code, name, lat, lon = rng.choice(cities)
            if kind < 0.60:
                csv_place, csv_lat, csv_lon = name, "", ""
                stop = (code, name, lat, lon, "city")
            elif kind < 0.85:
                lat, lon = round(lat + rng.uniform(-0.05, 0.05), 5), round(lon + rng.uniform(-0.05, 0.05), 5)
                csv_place, csv_lat, csv_lon = "", str(lat), str(lon)
                stop = (code, None, lat, lon, "point")
            else:
                code = rng.choice(codes)
                csv_place, csv_lat, csv_lon = "", "", ""
                stop = (code, None, None, None, "country")
            out.write(",".join([f"B-{t:07d}", given, family, email, phone, language, stop[0],
                                csv_place, csv_lat, csv_lon, arrival.isoformat(), departure.isoformat()]) + "\n")
            stops.append({"trip_id": t, "traveller_id": t, "country": stop[0], "place": stop[1],
                          "lat": stop[2], "lon": stop[3], "precision": stop[4], "arrival": arrival,
                          "departure": departure})
            arrival = departure
            rows += 1
    return out.getvalue(), travellers, trips, stops


def _clear(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE stops, trips, travellers RESTART IDENTITY CASCADE"))
        else:
            for table in ("stops", "trips", "travellers"):
                conn.execute(text(f"DELETE FROM {table}"))


def baseline(engine, travellers, trips, stops) -> float:
    """Seconds to bulk-insert the rows with no checks (executemany / COPY)."""
    tables = ((Traveller.__table__, travellers), (Trip.__table__, trips), (Stop.__table__, stops))
    began = time.perf_counter()
    cpu = time.process_time()
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                for table, rows in tables:
                    cols = list(rows[0])
                    with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row([row[c] for c in cols])
                cur.execute("SELECT setval('travellers_id_seq', (SELECT max(id) FROM travellers))")
                cur.execute("SELECT setval('trips_id_seq', (SELECT max(id) FROM trips))")
            raw.commit()
        finally:
            raw.close()
    else:
        with engine.begin() as conn:
            for table, rows in tables:
                conn.execute(insert(table), rows)
    return time.perf_counter() - began, time.process_time() - cpu


def importer(engine, csv_text: str) -> tuple[float, float, object]:
    began = time.perf_counter()
    cpu = time.process_time()
    with Session(engine) as session:
        report = import_csv(session, io.StringIO(csv_text))
        session.commit()
    return time.perf_counter() - began, time.process_time() - cpu, report


def run_one(kind: str, n_rows: int, data, run: provenance.Run) -> None:
    csv_text, travellers, trips, stops = data
    with ExitStack() as stack:
        if kind == "sqlite":
            tmpdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-import-"))
            url = f"sqlite:///{tmpdir}/bench.db"
        else:
            url = stack.enter_context(throwaway_database("bench_import", admin_url=PG_ADMIN))
        _run_one(kind, n_rows, url, travellers, trips, stops, csv_text, run)


def _run_one(kind: str, n_rows: int, url: str, travellers, trips, stops, csv_text, run: provenance.Run) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        run.add_database(url)
        base_s, base_cpu = baseline(engine, travellers, trips, stops)
        _clear(engine)
        imp_s, imp_cpu, report = importer(engine, csv_text)
        assert not report.errors, report.errors[:5]
        assert report.stops == len(stops) and report.travellers_created == len(travellers)
        again_s, _again_cpu, again = importer(engine, csv_text)
        label = "PostgreSQL" if kind == "postgres" else "SQLite"
        base_how = "COPY FROM STDIN" if kind == "postgres" else "Core executemany"
        print(f"{label}: {n_rows} rows, {len(travellers)} travellers")
        print(f"  baseline ({base_how}): {base_s:7.2f} s  {n_rows / base_s:10.0f} rows/s"
              f"  (this process's CPU {base_cpu:.2f} s)")
        print(f"  importer (import_csv):       {imp_s:7.2f} s  {n_rows / imp_s:10.0f} rows/s"
              f"  (this process's CPU {imp_cpu:.2f} s)")
        print(f"  ratio importer/baseline: {imp_s / base_s:.1f}x the time "
              f"({(n_rows / imp_s) / (n_rows / base_s):.2f} of the throughput)")
        print(f"  re-import of the same file (nothing changes: {again.travellers_unchanged} unchanged): "
              f"{again_s:7.2f} s  {n_rows / again_s:10.0f} rows/s")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--record", action="store_true", help=provenance.RECORD_HELP.format(file="bench/RESULTS.md"))
    args = parser.parse_args()
    with provenance.Run("import", RESULTS, record=args.record) as run:
        gazetteer.resolve_place("FR", "Paris")  # load the gazetteer outside any timing
        data = generate(args.rows)
        print(f"Generated {args.rows} rows ({len(data[0].encode()) / 1e6:.1f} MB of CSV).")
        for kind in (("sqlite", "postgres") if args.database == "both" else (args.database,)):
            run_one(kind, args.rows, data, run)


if __name__ == "__main__":
    main()
