"""Time `emergency seed --travellers N` and report its peak memory.

    .venv/bin/python bench/seed.py [--travellers 1000000] [--database sqlite|postgres|both] [--record]

Each run uses a fresh database (SQLite temporary file, or a temporary PostgreSQL database
on the server of BENCH_PG_ADMIN_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres,
dropped afterwards; the migrations give it PostGIS), migrated with `emergency db upgrade`
first. The seed runs as its own process, as an operator runs it (`python -m emergency.cli`
with this interpreter, on this checkout's code); its peak resident memory is read from
`getrusage(RUSAGE_CHILDREN)` after it exits (the same figure `/usr/bin/time -v` prints as
"Maximum resident set size").

The baseline, measured in the same run, is `emergency db upgrade` on the same database: the
cost of starting the app at all. Printed: seconds, travellers/s, peak RSS, and the ratio of
the seed's peak RSS to the baseline's (how much memory seeding adds on top of the app).

The run's entry (commit, library and server versions, load; bench/provenance.py) is written
under bench/results/; `--record` also appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import provenance  # noqa: E402

# The CLI run by this interpreter from this checkout, not whichever `emergency` is installed.
EMERGENCY = [sys.executable, "-m", "emergency.cli"]
RESULTS = ROOT / "bench" / "RESULTS.md"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def run_child(args: list[str], env: dict) -> tuple[float, int]:
    """Run `emergency ARGS`; return (seconds, peak RSS of that child in MB)."""
    # RUSAGE_CHILDREN reports the largest of all waited-for children so far, so each
    # measured command runs under its own intermediate Python process.
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *EMERGENCY, *args], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]) // 1024


def run_one(kind: str, n: int, run: provenance.Run) -> None:
    env = {**os.environ, "EMERGENCY_ENV": "development", "JOBS_MODE": "sync", "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    with ExitStack() as stack:
        if kind == "sqlite":
            tmpdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-seed-"))
            env["DATABASE_URL"] = f"sqlite:///{tmpdir}/seed.db"
        else:
            from devtools.pgdb import throwaway_database

            env["DATABASE_URL"] = stack.enter_context(throwaway_database("bench_seed", admin_url=PG_ADMIN))
        base_s, base_mb = run_child(["db", "upgrade"], env)
        run.add_database(env["DATABASE_URL"])
        seed_s, seed_mb = run_child(["seed", "--travellers", str(n)], env)
        label = "PostgreSQL" if kind == "postgres" else "SQLite"
        print(f"{label}: emergency seed --travellers {n}")
        print(f"  seed:      {seed_s:8.1f} s  {n / seed_s:9.0f} travellers/s  peak RSS {seed_mb:6d} MB")
        print(f"  baseline (emergency db upgrade, app start-up): {base_s:5.1f} s  peak RSS {base_mb:6d} MB")
        print(f"  memory ratio seed/baseline: {seed_mb / max(base_mb, 1):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--travellers", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--record", action="store_true", help=provenance.RECORD_HELP.format(file="bench/RESULTS.md"))
    args = parser.parse_args()
    with provenance.Run("seed", RESULTS, record=args.record) as run:
        for kind in (("sqlite", "postgres") if args.database == "both" else (args.database,)):
            run_one(kind, args.travellers, run)


if __name__ == "__main__":
    main()
