"""Follow-up benchmark: a round to N non-responders against the first send to the same N.

On the real stack of bench/fanout.py (whose machinery this reuses): PostgreSQL + PostGIS,
Redis, two `emergency worker` processes, the official SDKs against the fake SendGrid and
Twilio in their own process. N travellers around Lisbon get a safety check by email and
SMS (the first send, timed as bench/fanout.py times it: from the send to the alert being
`sent`, which is the last provider call recorded). Nobody answers. The plan's clock is then
moved past its delay (sent times moved back, rather than waiting two hours) and the sweep
queues the incident's tick, as `emergency cron` does every minute; the round is timed from
that moment to its alert being `sent`:

- planning: the tick finds the round due, counts who has not answered, creates the round
  and sends it (the round's `created_at` and `sent_at`);
- freeze: `prepare_alert` writes the round's recipients (everyone on the safety check's list
  not heard from) and their delivery rows, one per person on the round's lead channel;
- fan-out: the delivery batches, to the last provider call.

Printed: both times, the round's breakdown, and the ratio round / first send, per recipient
and per message (the first send is two messages per person, email and SMS; the round one,
SMS, the channel the safety check did not lead with).

    .venv/bin/python bench/followup.py                       # 100,000 recipients
    .venv/bin/python bench/followup.py --recipients 20000

BENCH_PG_ADMIN_URL and BENCH_REDIS_URL as for bench/fanout.py (this bench FLUSHES that Redis
database). The run's entry (commit, versions, load; bench/provenance.py) is written under
bench/results/; `--record` also appends it to bench/RESULTS-followup.md.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fanout, provenance  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS-followup.md"


def start_workers(env: dict, count: int) -> list[subprocess.Popen]:
    """`count` workers as bench/fanout.py starts them (logging to files), once registered."""
    procs = [fanout.start_worker(env, index) for index in range(count)]
    fanout.wait_registered(procs)
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def tick_due(env: dict, incident_id: int) -> float:
    """Move the plan's clock past its delay and run the sweep, which queues the incident's
    tick on Redis for the workers; returns the moment (epoch) the tick was queued."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from sqlalchemy import text

        from emergency import create_app

        app = create_app({"JOBS_MODE": "rq"})
        with app.app_context():
            from emergency.core.database import db_session
            from emergency.jobs.followup import sweep_due

            session = db_session()
            session.execute(text("UPDATE alerts SET sent_at = sent_at - make_interval(mins => :m) "
                                 "WHERE incident_id = :i AND sent_at IS NOT NULL"),
                            {"m": app.config["FOLLOWUP_DELAY_MINUTES"] + 1, "i": incident_id})
            session.commit()
            queued_at = time.time()
            if sweep_due() != 1:
                raise RuntimeError("the sweep found no round due")
        app.extensions["db_engine"].dispose()
        return queued_at
    finally:
        os.environ.clear()
        os.environ.update(saved)


def incident_of(engine, alert_id: int) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT incident_id FROM alerts WHERE id = :a"), {"a": alert_id}).scalar()


def round_id(engine, check_id: int) -> int | None:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM alerts WHERE followup_of = :c"), {"c": check_id}).scalar()


def timeline(engine, alert_id: int) -> dict:
    """The alert's moments from the database: created, sent (queued for preparation), its
    first and last delivery rows written, its first claim and its last provider answer."""
    from sqlalchemy import text

    with engine.connect() as conn:
        alert = conn.execute(text("SELECT created_at, sent_at, recipient_count FROM alerts WHERE id = :a"),
                             {"a": alert_id}).one()
        rows = conn.execute(text(
            "SELECT min(created_at), max(created_at), min(claimed_at), max(sent_at), count(*), "
            "count(*) FILTER (WHERE status IN ('sent', 'delivered')) FROM deliveries WHERE campaign_id = :a"),
            {"a": alert_id}).one()
        per_channel = {channel: {"sent": n, "rate": n / max(_seconds(first, last), 1e-9)}
                       for channel, n, first, last in conn.execute(text(
                           "SELECT channel, count(*), min(claimed_at), max(sent_at) FROM deliveries "
                           "WHERE campaign_id = :a AND status IN ('sent', 'delivered') GROUP BY channel"), {"a": alert_id})}
    return {"created": alert[0], "sent": alert[1], "recipients": alert[2], "rows_first": rows[0],
            "rows_last": rows[1], "first_claim": rows[2], "last_sent": rows[3], "messages": rows[4],
            "delivered": rows[5],
            "channels": {channel: v["sent"] for channel, v in per_channel.items()}, "rates": per_channel}


def follow_up(db_url: str, fakes: dict, check_id: int, workers: int, concurrency: int) -> dict:
    """Time the first round to every recipient of the safety check (nobody has answered)."""
    from redis import Redis
    from sqlalchemy import create_engine

    Redis.from_url(fanout.REDIS_URL).flushdb()
    env = fanout.worker_env(db_url, fakes, concurrency)
    procs = start_workers(env, workers)
    engine = create_engine(db_url)
    peaks = [0.0] * workers
    try:
        sms_before = fanout.fake_stats(fakes["twilio"])["accepted"]
        queued_at = tick_due(env, incident_of(engine, check_id))
        alert_id = None
        while True:
            time.sleep(0.5)
            peaks = [max(p, fanout.peak_rss_mb(proc.pid)) for p, proc in zip(peaks, procs)]
            if any(proc.poll() is not None for proc in procs):
                raise RuntimeError("a worker died")
            alert_id = alert_id or round_id(engine, check_id)
            if alert_id is not None and fanout.alert_status(engine, alert_id) == "sent":
                break
            if time.time() - queued_at > 3600:
                raise RuntimeError("the round did not go out within an hour")
        moments = timeline(engine, alert_id)
        accepted = fanout.fake_stats(fakes["twilio"])["accepted"] - sms_before
    finally:
        engine.dispose()
        stop_workers(procs)
    queued = datetime.fromtimestamp(queued_at, timezone.utc)
    return {"alert_id": alert_id, "elapsed": _seconds(queued, moments["last_sent"]), "queued_at": queued,
            "timeline": moments, "twilio_accepted": accepted, "peak_rss_mb": peaks}


def run(count: int, workers: int, keep: bool, concurrency: int, prov: provenance.Run) -> dict:
    fakes_proc = subprocess.Popen([sys.executable, fanout.__file__, "--serve-fakes"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
    fakes = json.loads(fakes_proc.stdout.readline())
    fakes["pid"] = fakes_proc.pid
    from sqlalchemy import create_engine

    from devtools.pgdb import throwaway_database

    try:
        with throwaway_database("bench_followup", admin_url=fanout.PG_ADMIN, keep=keep) as db_url:
            fanout.migrate(db_url)
            prov.add_database(db_url)
            prov.add_redis(fanout.REDIS_URL)
            started = time.time()
            fanout.seed(db_url, count)
            print(f"  seeded {count:,} travellers in {time.time() - started:.1f}s", flush=True)
            first = fanout.fan_out(db_url, fakes, count, workers, concurrency)
            engine = create_engine(db_url)
            first["timeline"] = timeline(engine, first["alert_id"])
            engine.dispose()
            # from the send (the alert committed as sending) to the last provider answer, as
            # for the round: not the sending process's start-up, which fan_out's clock holds
            first["elapsed"] = _seconds(first["timeline"]["sent"], first["timeline"]["last_sent"])
            print(f"  first send: {first['elapsed']:.1f}s", flush=True)
            later = follow_up(db_url, fakes, first["alert_id"], workers, concurrency)
            return {"recipients": count, "first": first, "round": later, "concurrency": concurrency}
    finally:
        fakes_proc.stdin.close()
        fakes_proc.wait(timeout=30)


def _seconds(start, end) -> float:
    return (end - start).total_seconds() if start is not None and end is not None else float("nan")


def report(result: dict, workers: int) -> None:
    first, later = result["first"], result["round"]
    f, r = first["timeline"], later["timeline"]
    n = result["recipients"]
    print(f"\n== {n:,} recipients, {workers} workers, {result['concurrency']} SMS calls in flight per worker")
    print(f"  first send (safety check, email + SMS), from the send to the last provider answer: {first['elapsed']:.1f}s "
          f"for {f['delivered']:,} messages "
          f"({f['channels']}); freeze + delivery rows {_seconds(f['sent'], f['rows_last']):.1f}s, "
          f"fan-out to the last provider answer {_seconds(f['rows_first'], f['last_sent']):.1f}s")
    print(f"  round 1 to {r['recipients']:,} non-responders ({r['channels']}): {later['elapsed']:.1f}s from the tick "
          f"queued to the last provider answer")
    print(f"    planning (tick: due, count, create, send): {_seconds(later['queued_at'], r['sent']):.1f}s "
          f"(round created {_seconds(later['queued_at'], r['created']):.1f}s after the tick was queued)")
    print(f"    freeze of the non-responders + delivery rows: {_seconds(r['sent'], r['rows_last']):.1f}s")
    print(f"    fan-out, first delivery row to the last provider answer: {_seconds(r['rows_first'], r['last_sent']):.1f}s")
    print(f"  Twilio messages accepted for the round: {later['twilio_accepted']:,} "
          f"({'exactly once' if later['twilio_accepted'] == r['channels'].get('sms') == r['delivered'] else 'MISMATCH'})")
    print("  SMS rate, first claim to last answer: " + ", ".join(
        f"{name} {t['rates']['sms']['rate']:.0f}/s" for name, t in (("first send", f), ("round", r)) if "sms" in t["rates"]))
    print(f"  ratio round / first send: {later['elapsed'] / first['elapsed']:.2f} for the same recipients "
          f"(the first send is {f['delivered']:,} messages, the round {r['delivered']:,}: SMS, the slow channel, "
          f"is {f['channels'].get('sms', 0):,} in each)")
    print("  worker peak RSS (round): " + ", ".join(f"{p:.0f} MB" for p in later["peak_rss_mb"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000, help="non-responders (default 100,000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--sms-concurrency", type=int, default=int(os.environ.get("SMS_CONCURRENCY") or 8),
                        help="SMS calls in flight per worker (default 8)")
    parser.add_argument("--record", action="store_true",
                        help=provenance.RECORD_HELP.format(file="bench/RESULTS-followup.md"))
    args = parser.parse_args(argv)
    if args.recipients < 10:
        parser.error("--recipients must be at least 10")
    with provenance.Run("followup", RESULTS, record=args.record,
                        command=provenance.command_line(__file__, argv)) as prov:
        print(f"Run with {args.recipients:,} recipients...", flush=True)
        report(run(args.recipients, args.workers, args.keep, args.sms_concurrency, prov), args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
