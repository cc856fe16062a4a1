"""The SMS batch sender alone, without RQ, against the raw SDK calls to the same fake.

`notify.delivery.send_sms_batch` (8 calls in flight, results recorded in groups on
PostgreSQL) against the raw SDK calls on 8 threads, both to the fake Twilio of
bench/fanout.py in its own process. Prints both rates, the ratio, and the CPU each spends
per message: this process's, and PostgreSQL's (the sender's connection). CPU per message is
what decides the fan-out's rate on a saturated machine (bench/fanout.py), and it is far
steadier than a rate. `--prof` adds a cProfile of the sender's own thread (CPU time, not
waits).

    .venv/bin/python bench/sms_sender_micro.py [--messages N] [--batch B] [--prof] [--record]

The deliveries live in a throwaway database (the delivery tables only, no PostGIS needed)
on the server of BENCH_PG_ADMIN_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
The run's entry (commit, library and server versions, load; bench/provenance.py) is written
under bench/results/; `--record` also appends it to bench/RESULTS-fanout.md.
"""
import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, ROOT)
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(ROOT) / "bench" / "RESULTS-fanout.md"

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench import provenance  # noqa: E402
from devtools.pgdb import throwaway_database  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import _cpu_seconds as cpu_seconds  # noqa: E402  (user + system CPU of a process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--prof", action="store_true")
    parser.add_argument("--record", action="store_true",
                        help=provenance.RECORD_HELP.format(file="bench/RESULTS-fanout.md"))
    args = parser.parse_args()
    with provenance.Run("sms_sender_micro", RESULTS, record=args.record) as run:
        measure(args, run)


def measure(args, run: provenance.Run) -> None:
    n, size = args.messages, args.batch
    fp = subprocess.Popen([sys.executable, "bench/fanout.py", "--serve-fakes"], cwd=ROOT,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    fakes = json.loads(fp.stdout.readline())
    try:
        with throwaway_database("bench_sms_micro", admin_url=PG_ADMIN) as url:
            run.add_database(url)
            from notify.delivery import create_deliveries, send_sms_batch
            from notify.models import NotifyBase
            from notify.providers.base import SmsMessage
            from notify.providers.twilio_provider import TwilioSms

            eng = create_engine(url)
            NotifyBase.metadata.create_all(eng)
            factory = sessionmaker(bind=eng, expire_on_commit=False)  # as the app (emergency.core.database)
            sms = TwilioSms("AC" + "b" * 32, "bench-auth-token", from_number=fakes["number"],
                            base_url=fakes["twilio"], status_callback="http://127.0.0.1:9/x")
            body = "Consular alert: Bench. Are you safe? Reply 1 if safe, 2 if you need help. " * 2
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: sms.send(SmsMessage(i, f"+3519{i:08d}", body)), range(16)))
                cpu, t = cpu_seconds(), time.perf_counter()
                ok = sum(r.ok for r in pool.map(lambda i: sms.send(SmsMessage(i, f"+3519{i:08d}", body)),
                                                range(n)))
                raw_s, raw_cpu = time.perf_counter() - t, cpu_seconds() - cpu
            assert ok == n
            with factory() as s:
                create_deliveries(s, 1, [(i, "sms", f"+3519{i:08d}", "en") for i in range(1, n + 1)],
                                  {"sms": size})
                s.commit()
                backend = s.scalar(text("SELECT pg_backend_pid()"))
                # CPU of this thread alone: waits for the GIL are not counted against a function
                prof = cProfile.Profile(time.thread_time) if args.prof else None
                cpu, pg, t = cpu_seconds(), cpu_seconds(backend), time.perf_counter()
                own = time.thread_time()
                if prof:
                    prof.enable()
                sent = 0
                for b in range(-(-n // size)):
                    sent += sum(r.ok for r in send_sms_batch(
                        s, 1, b, sms, lambda d: SmsMessage(d.id, d.address, body), concurrency=8))
                if prof:
                    prof.disable()
                app_s, app_cpu = time.perf_counter() - t, cpu_seconds() - cpu
                own = time.thread_time() - own
                app_pg = cpu_seconds(backend) - pg
            assert sent == n
            print(f"{n} messages, batches of {size}, 8 calls in flight")
            print(f"  raw SDK calls:  {n / raw_s:6.0f}/s  CPU {1000 * raw_cpu / n:.3f} ms per message")
            print(f"  send_sms_batch: {n / app_s:6.0f}/s  CPU {1000 * app_cpu / n:.3f} ms per message "
                  f"+ PostgreSQL {1000 * app_pg / n:.3f} ms\n"
                  f"                  of which the sender's own thread (claim, render, record): "
                  f"{1000 * own / n:.3f} ms")
            print(f"  ratio {raw_s / app_s:.0%}; CPU added per message: "
                  f"{1000 * (app_cpu + app_pg - raw_cpu) / n:.3f} ms")
            if prof:
                pstats.Stats(prof).sort_stats("tottime").print_stats(30)
            eng.dispose()
    finally:
        fp.stdin.close()
        fp.wait()


if __name__ == "__main__":
    main()
