"""Benchmark: from an event's publication on a feed to a draft incident with its headcount.

    .venv/bin/python bench/trigger.py [--travellers 1000000] [--poll-seconds 60] [--trials 1] [--reuse] [--record]

A local fake feed (tests/hazards/fake_feeds.py) serves a USGS summary GeoJSON. The
registry is N synthetic registrations on PostgreSQL+PostGIS, seeded as bench/affected.py
does (same database, `emergency_bench_<N>`, shared with it; `--reuse` keeps what it holds).
A scheduler thread runs the real poller (`jobs.feeds.poll_all`, jobs in sync mode) at every
multiple of the poll interval, as `emergency cron` does. Each trial publishes a new M6.5
earthquake near Paris at a random moment of the interval and waits until its hazard row has
a draft incident and a headcount: that time, against the target (poll interval + 5 s), is the
figure. The poll's own share (from the poll's start to the draft) is printed too, against
its 5 s budget, since the wait for the next poll depends only on the interval.

Check: the headcount stored with the event equals the number of travellers of the affected
set (`registry.affected.find_affected`) for the incident's zone over the same window.

Every run deletes the feeds, events, rules and incidents a previous trigger run left; the
registry stays. The run's entry (commit, versions, load; bench/provenance.py) is written
under bench/results/; `--record` also appends it to bench/RESULTS-trigger.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, select, text  # noqa: E402

from bench import provenance  # noqa: E402
from bench.affected import TODAY, pg_url, prepare  # noqa: E402
from tests.hazards.fake_feeds import FakeFeeds  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS-trigger.md"
BUDGET = 5.0  # seconds the target allows beyond the poll interval
PARIS = (48.8566, 2.3522)
EVENT_TIME = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=timezone.utc)  # inside the seeded trips


def usgs_feed(events: list[dict]) -> bytes:
    features = [{"type": "Feature", "id": e["id"],
                 "geometry": {"type": "Point", "coordinates": [e["lon"], e["lat"], 10.0]},
                 "properties": {"mag": e["mag"], "time": e["time"], "updated": e["time"], "type": "earthquake",
                                "title": f"M {e['mag']} - {e['place']}", "place": e["place"], "status": "reviewed"}}
                for e in events]
    return json.dumps({"type": "FeatureCollection", "metadata": {"count": len(features)}, "features": features}).encode()


def make_app(url: str, poll_seconds: int):
    from emergency import create_app

    return create_app({
        "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(16), "JOBS_MODE": "sync", "REDIS_URL": None,
        "FEED_POLL_SECONDS": poll_seconds, "FEED_POLLING": False, "PUBLIC_BASE_URL": "https://bench.invalid",
        "SENDGRID_API_KEY": None, "TWILIO_ACCOUNT_SID": None, "TWILIO_AUTH_TOKEN": None,
    })


def reset(app, feed_url: str) -> None:
    """Forget a previous trigger run (the registry stays), then one feed and one draft rule."""
    from emergency.core.database import db_session
    from emergency.core.models import Feed, Hazard, Incident, TriggerFiring, TriggerRule

    with app.app_context():
        session = db_session()
        incidents = [i for i in session.scalars(select(Hazard.incident_id).where(Hazard.incident_id.is_not(None)))]
        session.execute(delete(TriggerFiring))
        session.execute(delete(Hazard))
        session.execute(delete(TriggerRule))
        session.execute(delete(Feed))
        for incident_id in incidents:
            incident = session.get(Incident, incident_id)
            if incident is not None:
                session.delete(incident)
        session.add(Feed(name="Bench USGS", kind="usgs", url=feed_url, enabled=True))
        session.add(TriggerRule(name="Bench: strong quakes", source="any", kinds=["earthquake"], min_magnitude=6.0,
                                min_affected=1, action="draft", enabled=True))
        session.commit()


class Scheduler(threading.Thread):
    """`emergency cron`'s feed job: poll_all at every multiple of the interval."""

    def __init__(self, app, interval: int):
        super().__init__(daemon=True)
        self.app, self.interval = app, interval
        self.stopping = threading.Event()
        self.poll_starts: list[float] = []

    def run(self) -> None:
        from emergency.jobs.feeds import poll_all

        while not self.stopping.is_set():
            now = time.time()
            if self.stopping.wait(self.interval - now % self.interval):
                return
            self.poll_starts.append(time.time())
            with self.app.app_context():
                try:
                    poll_all()
                except Exception as exc:  # a bench must not hang on a poller error: it shows in the timings
                    print(f"  poll failed: {exc}", flush=True)


def wait_for_draft(app, source_id: str, timeout: float):
    from emergency.core.database import db_session
    from emergency.core.models import Hazard

    deadline = time.time() + timeout
    with app.app_context():
        while time.time() < deadline:
            row = db_session().execute(select(Hazard.id, Hazard.incident_id, Hazard.affected).where(
                Hazard.source == "usgs", Hazard.source_id == source_id)).first()
            db_session().rollback()
            if row is not None and row.incident_id is not None and row.affected is not None:
                return row
            time.sleep(0.02)
    return None


def affected_set(app, incident_id: int, start) -> int:
    from emergency.core.database import db_session
    from emergency.core.models import Incident
    from geo.sources import zone_from_stored
    from registry.affected import find_affected

    with app.app_context():
        incident = db_session().get(Incident, incident_id)
        zone = zone_from_stored(incident.zone_geojson, incident.zone_source)
        return len({row.traveller_id for row in find_affected(db_session(), zone, start, incident.ends_at)})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--travellers", type=int, default=1_000_000)
    parser.add_argument("--poll-seconds", type=int, default=60, help="the poll interval (FEED_POLL_SECONDS)")
    parser.add_argument("--trials", type=int, default=1, help="events published, each at a random moment")
    parser.add_argument("--reuse", action="store_true", help="keep the registry a previous run seeded")
    parser.add_argument("--record", action="store_true", help=provenance.RECORD_HELP.format(file="bench/RESULTS-trigger.md"))
    args = parser.parse_args(argv)
    command = provenance.command_line(__file__, argv)
    with provenance.Run("trigger", RESULTS, record=args.record, command=command) as run:
        run.result(measure(args, run))
    return 0


def measure(args, run: provenance.Run) -> str:
    n, interval = args.travellers, args.poll_seconds
    url = pg_url(n)
    print(f"PostGIS: preparing {n} travellers in {url}", flush=True)
    prepare(url, n, args.reuse)
    run.add_database(url)
    feeds = FakeFeeds().start()
    feed_url = feeds.publish("/usgs/significant_hour.geojson", usgs_feed([]))
    app = make_app(url, interval)
    reset(app, feed_url)
    scheduler = Scheduler(app, interval)
    scheduler.start()
    rng = random.Random(int(os.environ.get("BENCH_SEED", "7")))
    rows, published = [], []
    try:
        for trial in range(args.trials):
            time.sleep(rng.uniform(0, interval))  # publish at a random moment of the interval
            event = {"id": f"bench{trial}{secrets.token_hex(3)}", "lat": PARIS[0] + rng.uniform(-0.2, 0.2),
                     "lon": PARIS[1] + rng.uniform(-0.2, 0.2), "mag": 6.5, "place": "near Paris, France",
                     "time": int(EVENT_TIME.timestamp() * 1000)}
            published.append(event)
            t0 = time.time()
            feeds.publish("/usgs/significant_hour.geojson", usgs_feed(published))
            row = wait_for_draft(app, event["id"], interval + 120)
            t1 = time.time()
            if row is None:
                rows.append((trial, None, None, None, None))
                print(f"  trial {trial}: no draft within {interval + 120} s", flush=True)
                continue
            poll_start = max((s for s in scheduler.poll_starts if s >= t0), default=t0)
            expected = affected_set(app, row.incident_id, EVENT_TIME)
            rows.append((trial, t1 - t0, t1 - poll_start, row.affected, expected))
            print(f"  trial {trial}: draft incident {row.incident_id} after {t1 - t0:.2f} s "
                  f"(poll {t1 - poll_start:.2f} s), headcount {row.affected}, affected set {expected}", flush=True)
    finally:
        scheduler.stopping.set()
        scheduler.join(timeout=interval + 60)
        feeds.stop()
    with app.app_context():
        from emergency.core.database import db_session

        stops = db_session().scalar(text("SELECT count(*) FROM stops"))
    done = [r for r in rows if r[1] is not None]
    target = interval + BUDGET
    lines = [
        f"{n} travellers ({stops} stops) on PostGIS; USGS summary feed on a local fake server; poll interval "
        f"{interval} s, so the target is {target:.0f} s from publication to the draft; {args.trials} trial(s), each "
        "published at a random moment of the interval. Event: M6.5 near Paris (zone: the magnitude model's "
        "geodesic circle), rule: earthquakes M6+ with at least one traveller -> draft.", "",
        "| trial | publication -> draft (s) | / target | poll start -> draft (s) | / 5 s budget | headcount | affected set | equal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for trial, total, poll, headcount, expected in rows:
        if total is None:
            lines.append(f"| {trial} | no draft | — | — | — | — | — | no |")
            continue
        lines.append(f"| {trial} | {total:.2f} | {total / target:.2f} | {poll:.2f} | {poll / BUDGET:.2f} | {headcount} | "
                     f"{expected} | {'yes' if headcount == expected else 'NO'} |")
    if done:
        worst = max(r[1] for r in done)
        lines += ["", f"Worst publication -> draft: {worst:.2f} s = {worst / target:.2f} x the target; median poll share "
                      f"{statistics.median(r[2] for r in done):.2f} s. Headcount equals the affected set in "
                      f"{sum(r[3] == r[4] for r in done)}/{len(done)} trial(s)."]
    summary = "\n".join(lines)
    print("\n" + summary)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
