"""The SMS batch sender alone, without RQ: `notify.delivery.send_sms_batch` (8 calls in
flight, results recorded in groups on PostgreSQL) against the raw SDK calls on 8 threads,
both to the fake Twilio of bench/fanout.py in its own process. Prints both rates and the
ratio; `--prof` adds a cProfile of the sender.

    .venv/bin/python bench/sms_sender_micro.py [--prof]
"""
import cProfile
import json
import pstats
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, ROOT)

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from devtools.pgdb import throwaway_database  # noqa: E402

fp = subprocess.Popen([sys.executable, "bench/fanout.py", "--serve-fakes"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
fakes = json.loads(fp.stdout.readline())
try:
    with throwaway_database("bench_sms_micro") as url:
        from notify.models import NotifyBase
        from notify.delivery import create_deliveries, send_sms_batch
        from notify.providers.base import SmsMessage
        from notify.providers.twilio_provider import TwilioSms
        eng = create_engine(url); NotifyBase.metadata.create_all(eng)
        S = sessionmaker(bind=eng, expire_on_commit=False)  # as the app (emergency.database)
        sms = TwilioSms("AC"+"b"*32, "bench-auth-token", from_number=fakes["number"], base_url=fakes["twilio"], status_callback="http://127.0.0.1:9/x")
        N = 2000
        body = "Consular alert: Bench. Are you safe? Reply 1 if safe, 2 if you need help. " * 2
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: sms.send(SmsMessage(i, f"+3519{i:08d}", body)), range(16)))
            t = time.perf_counter()
            ok = sum(r.ok for r in pool.map(lambda i: sms.send(SmsMessage(i, f"+3519{i:08d}", body)), range(N)))
            raw = N / (time.perf_counter() - t)
        with S() as s:
            create_deliveries(s, 1, [(i, "sms", f"+3519{i:08d}", "en") for i in range(1, N + 1)], {"sms": 200}); s.commit()
            prof = cProfile.Profile() if "--prof" in sys.argv else None
            t = time.perf_counter()
            if prof: prof.enable()
            for b in range(N // 200):
                send_sms_batch(s, 1, b, sms, lambda d: SmsMessage(d.id, d.address, body), concurrency=8)
            if prof: prof.disable()
            app = N / (time.perf_counter() - t)
        print(f"raw {raw:.0f}/s  send_sms_batch {app:.0f}/s  ratio {app/raw:.0%}")
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        eng.dispose()
finally:
    fp.stdin.close(); fp.wait()
