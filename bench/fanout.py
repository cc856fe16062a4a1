"""Fan-out benchmark: one alert to N travellers by email and SMS, on the real stack.

PostgreSQL + PostGIS, Redis, two `emergency worker` processes, the official SendGrid and
Twilio SDKs, and the local fake providers (devtools/fake_providers.py) in their own
process, with their callbacks off. In the same run, a baseline sends the same number of
requests to the same fakes with the same SDK calls at the same concurrency (one client
process per worker, each with SMS_CONCURRENCY threads for SMS as the workers have), before
and after the alert, so the figures are ratios to what the fake sustains alone (the mean of
the two baselines), not absolute numbers that depend on the machine.

    .venv/bin/python bench/fanout.py                       # 10,000 then 100,000 recipients
    .venv/bin/python bench/fanout.py --recipients 20000    # 2,000 then 20,000
    .venv/bin/python bench/fanout.py --sms-concurrency 1   # one SMS call at a time per worker

Each size gets a throwaway database with PostGIS on the server of BENCH_PG_ADMIN_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres; `--keep` leaves it). The
workers' queues are on BENCH_REDIS_URL (default redis://127.0.0.1:6379/13), a database this
bench FLUSHES before each size: give it one nothing else uses. SMS_CONCURRENCY sets the
default of `--sms-concurrency`, EMAIL_BATCH_SIZE (default 1000) the baseline's emails per
request; the workers get the rest of the environment, less JOBS_MODE, TWILIO_MPS,
SENDGRID_RPS and TWILIO_MESSAGING_SERVICE_SID (SMS_BATCH_SIZE, for one, applies to them).

Printed per size: email and SMS messages per second through the app and through the
baseline, their ratio, SendGrid requests, Twilio messages accepted (0 lost, 0 duplicated)
and each worker's peak RSS (VmHWM), to check memory does not grow with recipients. The
run's entry (commit, library and server versions, load; bench/provenance.py) is written
under bench/results/; `--record` also appends it to bench/RESULTS-fanout.md.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import provenance  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS-fanout.md"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SENDGRID_KEY = "SG.bench-key"
TWILIO_SID, TWILIO_TOKEN = "AC" + "b" * 32, "bench-auth-token"
CENTRE = (38.72, -9.14)  # Lisbon


# --- the fakes, in their own process ------------------------------------------------------------

def serve_fakes() -> int:
    """Run FakeSendGrid and FakeTwilio (no callbacks) until stdin closes; print where they are."""
    from devtools.fake_providers import FakeSendGrid, FakeTwilio

    sendgrid = FakeSendGrid(SENDGRID_KEY, auto_callbacks=False).start()
    twilio = FakeTwilio(TWILIO_SID, TWILIO_TOKEN, auto_callbacks=False).start()
    print(json.dumps({"sendgrid": sendgrid.base_url, "twilio": twilio.base_url, "number": twilio.number}),
          flush=True)
    sys.stdin.read()
    sendgrid.stop()
    twilio.stop()
    return 0


def fake_stats(base_url: str) -> dict:
    import requests

    return requests.get(base_url + "/_fake/stats", timeout=30).json()


# --- database ----------------------------------------------------------------------------------

def migrate(url: str) -> None:
    from emergency.core.database import make_engine
    from emergency.core.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def seed(url: str, count: int) -> None:
    """`count` travellers around Lisbon, 60% English, each with an email and a mobile number."""
    from sqlalchemy import insert, text

    from emergency.core.database import make_engine
    from registry.models import Stop, Traveller, Trip

    rng = random.Random(42)
    engine = make_engine(url)
    today = date.today()
    with engine.begin() as conn:
        for start in range(0, count, 10000):
            ids = range(start + 1, min(start + 10000, count) + 1)
            conn.execute(insert(Traveller), [
                {"id": i, "given_name": f"T{i}", "family_name": "Bench", "email": f"t{i}@bench.example",
                 "phone": f"+3519{i:08d}", "language": "en" if rng.random() < 0.6 else "fr", "source": "seed"}
                for i in ids])
            conn.execute(insert(Trip), [{"id": i, "traveller_id": i} for i in ids])
            conn.execute(insert(Stop), [
                {"id": i, "trip_id": i, "traveller_id": i, "country": "PT", "place": "Lisbon",
                 "lat": CENTRE[0] + rng.uniform(-0.15, 0.15), "lon": CENTRE[1] + rng.uniform(-0.15, 0.15),
                 "precision": "point", "arrival": today - timedelta(days=2), "departure": today + timedelta(days=5)}
                for i in ids])
        for table in ("travellers", "trips", "stops"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


# --- baseline: the fake alone, same SDK, same concurrency ---------------------------------------

def _baseline_sms(args) -> int:
    base, number, first, count, concurrency = args
    from concurrent.futures import ThreadPoolExecutor

    from notify.providers.base import SmsMessage
    from notify.providers.twilio_provider import TwilioSms

    sms = TwilioSms(TWILIO_SID, TWILIO_TOKEN, from_number=number, base_url=base,
                    status_callback="http://127.0.0.1:9/webhooks/twilio/status")
    body = ("Consular alert: Bench. Are you safe? Reply 1 if safe, 2 if you need help.\n\n"
            "Alerte consulaire : Bench. Etes-vous en sécurité? Répondez 1 si vous etes en sécurité, "
            "2 si vous avez besoin d'aide.")
    started = _cpu_seconds()
    with ThreadPoolExecutor(max(1, concurrency)) as pool:
        ok = sum(r.ok for r in pool.map(lambda i: sms.send(SmsMessage(i, f"+3519{i:08d}", body)),
                                        range(first, first + count)))
    return ok, _cpu_seconds() - started


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) a process has used: this one, or `pid` from /proc."""
    if pid is None:
        usage = os.times()
        return usage.user + usage.system
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (utime is [11], stime [12])."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _processes_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def cpu_parts(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each part of the machine: the named processes of `pids`,
    PostgreSQL (the postmaster with its ended children, plus every live backend), Redis,
    and the whole machine (busy, and stolen by the hypervisor). Differences of two
    snapshots say where the CPU of a phase went, per message."""
    tick = os.sysconf("SC_CLK_TCK")
    parts = {}
    for name, ids in pids.items():
        parts[name] = sum(_cpu_seconds(pid) for pid in ids)
    postgres = 0.0
    servers = _processes_named("postgres")
    for pid in servers:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        used = int(fields[11]) + int(fields[12])
        if int(fields[1]) not in servers:  # the postmaster: its ended backends count too
            used += int(fields[13]) + int(fields[14])
        postgres += used / tick
    parts["postgres"] = postgres
    parts["redis"] = sum(_cpu_seconds(pid) for pid in _processes_named("redis-server"))
    with open("/proc/stat") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    parts["machine busy"] = (user + nice + system + irq + softirq) / tick
    parts["machine steal"] = steal / tick
    return parts


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def _baseline_email(args) -> int:
    base, first, count, size = args
    from notify.providers.base import EmailBatch, EmailRecipient
    from notify.providers.sendgrid_provider import SendGridEmail

    email = SendGridEmail(SENDGRID_KEY, host=base)
    text = "Safety check: Bench\n\nAre you safe? -safe_url-\nI need help: -help_url-\n" * 8
    ok = 0
    for start in range(first, first + count, size):
        recipients = [EmailRecipient(i, f"t{i}@bench.example",
                                     {"safe_url": f"https://c.example/r/{i}/safe", "help_url": f"https://c.example/r/{i}/help",
                                      "page_url": f"https://c.example/r/{i}"})
                      for i in range(start, min(start + size, first + count))]
        batch = EmailBatch("en", "Safety check: Bench / Vérification", text, f"<p>{text}</p>", recipients)
        ok += sum(r.ok for r in email.send_batch(batch))
    return ok


def baseline(fakes: dict, count: int, workers: int, email_batch: int, concurrency: int) -> dict:
    """Messages per second the fakes sustain for `count` SMS and `count` emails, `workers` clients
    (each with `concurrency` SMS calls in flight, as each worker has)."""
    share = [count // workers + (1 if w < count % workers else 0) for w in range(workers)]
    firsts = [sum(share[:w]) + 1 for w in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_baseline_sms, [(fakes["twilio"], fakes["number"], 10**8, 1, 1)] * workers))  # warm up
        parts = cpu_parts({"fakes": [fakes["pid"]]})
        started = time.perf_counter()
        sent = list(pool.map(_baseline_sms, [(fakes["twilio"], fakes["number"], f, n, concurrency)
                                             for f, n in zip(firsts, share)]))
        sms_ok, sms_cpu = sum(ok for ok, _ in sent), sum(cpu for _, cpu in sent)
        sms_seconds = time.perf_counter() - started
        parts = cpu_used(parts, cpu_parts({"fakes": [fakes["pid"]]}))
        parts["clients"] = sms_cpu
        # Email: whole batches per client, as the workers do.
        batches = [(f, n) for f, n in zip(firsts, share)]
        started = time.perf_counter()
        email_ok = sum(pool.map(_baseline_email, [(fakes["sendgrid"], f, n, email_batch) for f, n in batches]))
        email_seconds = time.perf_counter() - started
    return {"sms_rate": sms_ok / sms_seconds, "sms_ok": sms_ok, "sms_cpu_ms": 1000 * sms_cpu / max(sms_ok, 1),
            "sms_cpu_parts": {name: used / max(sms_ok, 1) for name, used in parts.items()},
            "email_rate": email_ok / email_seconds,
            "email_ok": email_ok}


# --- the real fan-out ----------------------------------------------------------------------------

def worker_env(db_url: str, fakes: dict, concurrency: int) -> dict:
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench-secret-of-at-least-32-bytes-long",
           "EMERGENCY_ENV": "production", "PUBLIC_BASE_URL": "https://consular.bench",
           "SENDGRID_API_KEY": SENDGRID_KEY, "SENDGRID_API_BASE_URL": fakes["sendgrid"],
           "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
           "TWILIO_API_BASE_URL": fakes["twilio"], "TWILIO_FROM": fakes["number"],
           "APPROVAL_THRESHOLD": str(10**9), "PYTHONPATH": str(ROOT), "RATELIMIT_ENABLED": "false",
           "SMS_CONCURRENCY": str(concurrency)}
    for key in ("JOBS_MODE", "TWILIO_MPS", "SENDGRID_RPS", "TWILIO_MESSAGING_SERVICE_SID"):
        env.pop(key, None)
    return env


def peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def start_worker(env: dict, index: int) -> subprocess.Popen:
    """An `emergency worker` whose log goes to a file: RQ logs every job, and a pipe nobody
    reads would fill up and stall the worker on a long run."""
    log = tempfile.NamedTemporaryFile("w", prefix=f"bench-worker{index}-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "emergency.cli", "worker", "--simple"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    proc.log_path = log.name
    log.close()
    return proc


def worker_log_tail(procs: list[subprocess.Popen], chars: int = 3000) -> str:
    """The end of each worker's log, for the error that stops the bench."""
    return "\n".join(Path(proc.log_path).read_text(errors="replace")[-chars:] for proc in procs
                     if getattr(proc, "log_path", None))


def wait_registered(procs: list[subprocess.Popen], timeout: float = 120) -> None:
    """Wait until every worker process has registered with RQ, then a second more for it to
    reach its queues: a fixed pause was too short on a busy machine, where importing the app
    takes longer, and the first job then waited on the import inside the measured time."""
    from redis import Redis
    from rq import Worker

    pids = {proc.pid for proc in procs}
    end = time.time() + timeout
    while pids - {w.pid for w in Worker.all(connection=Redis.from_url(REDIS_URL))}:
        if any(proc.poll() is not None for proc in procs) or time.time() > end:
            raise RuntimeError("a worker did not start: " + worker_log_tail(procs))
        time.sleep(0.2)
    time.sleep(1)


def send_alert(env: dict) -> int:
    """Create the incident and its alert, and send it (queues `prepare_alert` on Redis)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from emergency import create_app
        from emergency.services import alerts, incidents

        app = create_app({"JOBS_MODE": "rq"})
        with app.test_request_context():
            zone = incidents.zone_from_json({"circle": {"lat": CENTRE[0], "lon": CENTRE[1], "radius_km": 60}})
            start, end = incidents.parse_window(None, None)
            incident = incidents.create_incident("Bench", zone, start - timedelta(days=1), end)
            alert = alerts.compose_alert(incident, alerts.default_texts(incident), ["email", "sms"])
            alerts.send_alert(alert)
            alert_id = alert.id
        app.extensions["db_engine"].dispose()
        return alert_id
    finally:
        os.environ.clear()
        os.environ.update(saved)


def alert_status(engine, alert_id: int) -> str | None:
    """The alert's status: one primary-key read, cheap enough to poll twice a second (the
    per-channel counts scan every delivery row and would compete with the workers)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT status FROM alerts WHERE id = :a"), {"a": alert_id}).scalar()


def delivery_summary(db_url: str, alert_id: int) -> list:
    """(channel, status, count, first claim, last sent) rows, read once the alert is sent."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT channel, status, count(*), min(claimed_at), max(sent_at) FROM deliveries "
            "WHERE campaign_id = :a GROUP BY channel, status"), {"a": alert_id}).all()
    engine.dispose()
    return rows


def fan_out(db_url: str, fakes: dict, count: int, workers: int, concurrency: int) -> dict:
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    env = worker_env(db_url, fakes, concurrency)
    procs = [start_worker(env, index) for index in range(workers)]
    wait_registered(procs)  # the clock starts once the workers are listening
    cpu_before = [_cpu_seconds(proc.pid) for proc in procs]
    parts_of = {"workers": [proc.pid for proc in procs], "fakes": [fakes["pid"]]}
    sms_before = fake_stats(fakes["twilio"])["accepted"]
    sms_window = []  # (SMS accepted so far, CPU parts) at the first and last poll of the SMS phase
    started = time.time()
    alert_id = send_alert(env)
    peaks = [0.0] * workers
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    try:
        while True:
            time.sleep(0.5)
            peaks = [max(p, peak_rss_mb(proc.pid)) for p, proc in zip(peaks, procs)]
            accepted = fake_stats(fakes["twilio"])["accepted"] - sms_before
            if 0 < accepted and (not sms_window or sms_window[-1][0] < count):
                sms_window[1:] = [(accepted, cpu_parts(parts_of))]
            if any(proc.poll() is not None for proc in procs):
                raise RuntimeError("a worker died: " + worker_log_tail(procs))
            if alert_status(engine, alert_id) == "sent":
                break
            if time.time() - started > 3600:
                raise RuntimeError("fan-out did not finish within an hour")
        elapsed = time.time() - started
        peaks = [max(p, peak_rss_mb(proc.pid)) for p, proc in zip(peaks, procs)]
        worker_cpu = sum(_cpu_seconds(proc.pid) for proc in procs) - sum(cpu_before)
    finally:
        engine.dispose()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    per_channel = {}
    for channel, status, n, first_claim, last_sent in delivery_summary(db_url, alert_id):
        entry = per_channel.setdefault(channel, {"sent": 0, "other": 0, "first": None, "last": None})
        if status in ("sent", "delivered"):
            entry["sent"] += n
            entry["first"], entry["last"] = first_claim, last_sent
        else:
            entry["other"] += n
    for entry in per_channel.values():
        window = (entry["last"] - entry["first"]).total_seconds() if entry["first"] else 0
        entry["rate"] = entry["sent"] / window if window > 0 else 0.0
        entry.pop("first"), entry.pop("last")
    sms_parts = {}
    if len(sms_window) == 2 and sms_window[1][0] > sms_window[0][0]:
        messages = sms_window[1][0] - sms_window[0][0]
        sms_parts = {name: used / messages
                     for name, used in cpu_used(sms_window[0][1], sms_window[1][1]).items()}
    return {"alert_id": alert_id, "elapsed": elapsed, "channels": per_channel, "peak_rss_mb": peaks,
            "worker_cpu": worker_cpu, "sms_cpu_parts": sms_parts}


def retried(db_url: str, alert_id: int) -> dict:
    """Deliveries that needed more than one attempt, per channel (temporary provider failures)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT channel, count(*) FROM deliveries WHERE campaign_id = :a "
                                       "AND attempts > 1 GROUP BY channel"), {"a": alert_id}).all())
    engine.dispose()
    return found


def run(count: int, workers: int, email_batch: int, keep: bool, concurrency: int, prov: provenance.Run) -> dict:
    fakes_proc = subprocess.Popen([sys.executable, __file__, "--serve-fakes"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
    fakes = json.loads(fakes_proc.stdout.readline())
    fakes["pid"] = fakes_proc.pid
    from devtools.pgdb import throwaway_database

    try:
        with throwaway_database("bench_fanout", admin_url=PG_ADMIN, keep=keep) as db_url:
            return _measure(db_url, fakes, count, workers, email_batch, concurrency, prov)
    finally:
        fakes_proc.stdin.close()
        fakes_proc.wait(timeout=30)


def _measure(db_url: str, fakes: dict, count: int, workers: int, email_batch: int, concurrency: int,
             prov: provenance.Run) -> dict:
    """Seed, the baseline, the alert through the app, the baseline again, on one fresh database.

    The baseline runs before and after the alert and the app is compared with their mean: on
    a shared 2-core machine the fakes' own rate drifts by 10-30% within minutes, and one
    baseline measured before a two-minute run made the ratio swing with that drift."""
    migrate(db_url)
    prov.add_database(db_url)
    prov.add_redis(REDIS_URL)
    t = time.time()
    seed(db_url, count)
    print(f"  seeded {count} travellers in {time.time() - t:.1f}s", flush=True)
    before = baseline(fakes, count, workers, email_batch, concurrency)
    print(f"  baseline before: SMS {before['sms_rate']:.0f}/s, email {before['email_rate']:.0f}/s", flush=True)
    before_sg = fake_stats(fakes["sendgrid"])
    before_tw = fake_stats(fakes["twilio"])
    result = fan_out(db_url, fakes, count, workers, concurrency)
    after_sg = fake_stats(fakes["sendgrid"])
    after_tw = fake_stats(fakes["twilio"])
    after = baseline(fakes, count, workers, email_batch, concurrency)
    print(f"  baseline after:  SMS {after['sms_rate']:.0f}/s, email {after['email_rate']:.0f}/s", flush=True)
    base = {key: (before[key] + after[key]) / 2 for key in ("sms_rate", "email_rate", "sms_cpu_ms")}
    base["runs"] = (before, after)
    base["sms_cpu_parts"] = {name: (before["sms_cpu_parts"][name] + after["sms_cpu_parts"][name]) / 2
                             for name in before["sms_cpu_parts"]}
    result["baseline"] = base
    # The fake records every request, the /_fake/stats call that reads `after` included.
    result["sendgrid_requests"] = after_sg["requests"] - before_sg["requests"] - 1
    result["sendgrid_accepted"] = after_sg["accepted"] - before_sg["accepted"]
    result["retried"] = retried(db_url, result["alert_id"])
    result["twilio_accepted"] = after_tw["accepted"] - before_tw["accepted"]
    result["recipients"] = count
    result["concurrency"] = concurrency
    return result


def report(result: dict, workers: int) -> None:
    base, ch = result["baseline"], result["channels"]
    sms, email = ch.get("sms", {}), ch.get("email", {})
    print(f"\n== {result['recipients']:,} recipients, {workers} workers, {result['concurrency']} SMS calls in flight "
          f"per worker (baseline: the same): alert sent in {result['elapsed']:.1f}s")
    print(f"  SMS:   {sms.get('sent', 0):,} sent, {sms.get('other', 0)} not sent; "
          f"{sms.get('rate', 0):.0f} msg/s vs fake alone {base['sms_rate']:.0f} msg/s "
          f"(mean of {base['runs'][0]['sms_rate']:.0f} before and {base['runs'][1]['sms_rate']:.0f} after) "
          f"= {100 * sms.get('rate', 0) / base['sms_rate']:.0f}% (target >= 90%)")
    print(f"  email: {email.get('sent', 0):,} sent, {email.get('other', 0)} not sent; "
          f"{email.get('rate', 0):.0f} msg/s vs fake alone {base['email_rate']:.0f} msg/s "
          f"= {100 * email.get('rate', 0) / base['email_rate']:.0f}%")
    print(f"  SendGrid requests: {result['sendgrid_requests']} ({result['sendgrid_accepted']} accepted; "
          f"target <= {max(1, -(-result['recipients'] // 1000))}); deliveries retried: {result['retried'] or 'none'}; "
          f"Twilio messages accepted: {result['twilio_accepted']:,} "
          f"({'exactly once' if result['twilio_accepted'] == sms.get('sent') == result['recipients'] else 'MISMATCH'})")
    print("  worker peak RSS: " + ", ".join(f"{p:.0f} MB" for p in result["peak_rss_mb"]))
    messages = sms.get("sent", 0) + email.get("sent", 0)
    print(f"  CPU: workers {1000 * result['worker_cpu'] / max(messages, 1):.2f} ms per message sent (SMS and email, "
          f"whole alert); baseline SMS clients {base['sms_cpu_ms']:.2f} ms per SMS (2 cores shared by the workers, "
          f"PostgreSQL, Redis and the fakes)")


def report_cpu(result: dict) -> None:
    """Where the CPU of one SMS went: in the baseline (its clients and the fake) and in the
    app's SMS phase (workers, PostgreSQL, Redis, the fake), in ms per message; 'machine
    busy' is every process of the machine, 'machine steal' what the hypervisor took."""
    base, app = result["baseline"]["sms_cpu_parts"], result.get("sms_cpu_parts") or {}
    if not app:
        print("  CPU per SMS: the SMS phase was too short to measure")
        return
    names = ["clients", "workers", "fakes", "postgres", "redis", "machine busy", "machine steal"]
    print("  CPU per SMS (ms):  " + "  ".join(f"{name:>13}" for name in names))
    for label, parts in (("baseline", base), ("app", app)):
        print(f"    {label:<15} " + "  ".join(
            f"{1000 * parts[name]:13.3f}" if name in parts else f"{'-':>13}" for name in names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000, help="the large run (default 100,000)")
    parser.add_argument("--small", type=int, default=None, help="the small run for the memory check (default N/10)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument("--sms-concurrency", type=int, default=int(os.environ.get("SMS_CONCURRENCY") or 8),
                        help="SMS calls in flight per worker, and per baseline client (default 8)")
    parser.add_argument("--record", action="store_true",
                        help=provenance.RECORD_HELP.format(file="bench/RESULTS-fanout.md"))
    parser.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fakes:
        return serve_fakes()
    if args.recipients < 10:
        parser.error("--recipients must be at least 10")
    small = args.small or max(args.recipients // 10, 1)
    email_batch = int(os.environ.get("EMAIL_BATCH_SIZE") or 1000)
    results = []
    with provenance.Run("fanout", RESULTS, record=args.record, command=provenance.command_line(__file__, argv)) as prov:
        for count in (small, args.recipients):
            print(f"Run with {count:,} recipients...", flush=True)
            results.append(run(count, args.workers, email_batch, args.keep, args.sms_concurrency, prov))
            report(results[-1], args.workers)
            report_cpu(results[-1])
        small_peak, large_peak = max(results[0]["peak_rss_mb"]), max(results[1]["peak_rss_mb"])
        print(f"\nMemory: worker peak RSS {small_peak:.0f} MB at {small:,} vs {large_peak:.0f} MB at "
              f"{args.recipients:,} recipients (x{large_peak / small_peak:.2f} for x{args.recipients / small:.0f} "
              f"recipients)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
