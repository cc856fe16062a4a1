"""Crash-recovery benchmark: how long an alert takes to finish when a worker is SIGKILLed in
the middle of it, against the same alert with no kill in the same run, and how many messages
reach the provider twice, with the providers' status callbacks reaching the app and without.

PostgreSQL + PostGIS, Redis, two `emergency worker` processes, the official SDKs and the local
fakes (in this process). One throwaway database with N travellers (email and SMS each); three
alerts to all of them, each with fresh fakes and fresh workers:

1. no kill: time from the send to the alert's last message;
2. kill, callbacks off: once the fake Twilio has accepted 20% of the SMS, the calls then in
   flight are parked, the first worker's whole process tree (worker, work horse, scheduler) is
   SIGKILLed, and the parked calls are accepted (the provider has them, the app never heard);
   time from the kill to the alert's last message;
3. the same with the callbacks delivered to the app (a werkzeug server in this process).

Default settings throughout (DELIVERY_STALE_SECONDS 900, JOB_TIMEOUT 600): recovery comes from
the workers' heartbeats (emergency/jobs/recovery.py), not from a staleness lowered for the test.

    .venv/bin/python bench/recovery.py --recipients 1000

Queues on BENCH_REDIS_URL (default redis://127.0.0.1:6379/13), FLUSHED before each alert.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fanout  # noqa: E402

PUBLIC = "https://consular.bench"


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in glob.glob(f"/proc/{current}/task/*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in open(children).read().split())
    return found


def kill_tree(proc: subprocess.Popen) -> int:
    pids = tree(proc.pid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    proc.wait(timeout=30)
    return len(pids)


def serve_app(env: dict) -> tuple[object, str]:
    """The app in a werkzeug server thread (the callbacks' target): (server, base URL)."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per callback otherwise
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from emergency import create_app

        app = create_app({"JOBS_MODE": "rq"})
    finally:
        os.environ.clear()
        os.environ.update(saved)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def scenario(db_url: str, count: int, kill: bool, callbacks: bool, workers: int) -> dict:
    from redis import Redis
    from sqlalchemy import create_engine, select

    from devtools.fake_providers import FakeSendGrid, FakeTwilio
    from notify.models import Delivery

    Redis.from_url(fanout.REDIS_URL).flushdb()
    server = None
    sendgrid = FakeSendGrid(fanout.SENDGRID_KEY, public_base=PUBLIC)
    twilio = FakeTwilio(fanout.TWILIO_SID, fanout.TWILIO_TOKEN, public_base=PUBLIC)
    if callbacks:
        # the app that receives them: the fakes' signing keys are the ones it checks
        server, base = serve_app({**fanout.worker_env(db_url, {"sendgrid": PUBLIC, "twilio": PUBLIC,
                                                               "number": twilio.number}, 8),
                                  "PUBLIC_BASE_URL": PUBLIC, "SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid.public_key})
        for fake in (sendgrid, twilio):
            fake.callback_base, fake.auto_callbacks = base, True
    sendgrid.start()
    twilio.start()
    fakes = {"sendgrid": sendgrid.base_url, "twilio": twilio.base_url, "number": twilio.number}
    env = {**fanout.worker_env(db_url, fakes, 8), "PUBLIC_BASE_URL": PUBLIC,
           "SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid.public_key}
    procs = [subprocess.Popen([sys.executable, "-m", "emergency.cli", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
             for _ in range(workers)]
    engine = create_engine(db_url)
    try:
        if kill:
            twilio.hold_after(count // 5)
        started = time.monotonic()
        alert_id = fanout.send_alert(env)
        killed = None
        if kill:
            if not twilio.held.wait(600):
                raise RuntimeError("the SMS never reached 20%")
            pids = kill_tree(procs[0])
            killed = time.monotonic()
            twilio.release(accept=True)
        while fanout.alert_status(engine, alert_id) != "sent":
            if time.monotonic() - started > 1800:
                raise RuntimeError("the alert did not finish in 30 minutes")
            time.sleep(0.25)
        done = time.monotonic()
        with engine.connect() as conn:
            ids = {channel: {str(i) for i, c in conn.execute(select(Delivery.id, Delivery.channel).where(
                Delivery.campaign_id == alert_id)) if c == channel} for channel in ("email", "sms")}
        received = {"email": Counter(sendgrid.delivery_ids()), "sms": Counter(twilio.delivery_ids())}
        result = {"kill": kill, "callbacks": callbacks, "seconds": round(done - (killed or started), 1),
                  "total_seconds": round(done - started, 1), "killed_processes": pids if kill else 0}
        for channel in ("email", "sms"):
            result[f"{channel}_lost"] = len(ids[channel] - set(received[channel]))
            result[f"{channel}_duplicates"] = sum(n - 1 for i, n in received[channel].items() if n > 1)
        return result
    finally:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=30)
                for pid in tree(proc.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        engine.dispose()
        sendgrid.stop()
        twilio.stop()
        if server is not None:
            server.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/recovery.py", description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    from devtools.pgdb import throwaway_database

    print(f"load average before: {os.getloadavg()}", flush=True)
    with throwaway_database("bench_recovery", admin_url=fanout.PG_ADMIN, keep=args.keep) as db_url:
        fanout.migrate(db_url)
        fanout.seed(db_url, args.recipients)
        results = [scenario(db_url, args.recipients, kill, callbacks, args.workers)
                   for kill, callbacks in ((False, False), (True, False), (True, True))]
    for r in results:
        what = "no kill" if not r["kill"] else f"kill, callbacks {'on' if r['callbacks'] else 'off'}"
        since = "send" if not r["kill"] else "kill"
        print(f"{what:24} {r['seconds']:7.1f} s from the {since} to the last message "
              f"(alert {r['total_seconds']:.1f} s); lost email {r['email_lost']} sms {r['sms_lost']}; "
              f"duplicates email {r['email_duplicates']} sms {r['sms_duplicates']}"
              + (f"; {r['killed_processes']} processes killed" if r["kill"] else ""), flush=True)
    print(f"load average after: {os.getloadavg()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
