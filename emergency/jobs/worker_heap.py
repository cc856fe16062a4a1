"""A worker's heap, settled before its first job: the code its jobs run is imported, then
Python's cycle collector is told to leave alone everything that exists so far
(`gc.freeze`).

Why: a worker holds the whole application (Flask, SQLAlchemy, the catalogues, pyproj, the
provider SDKs: some 100,000 objects) and an SMS job allocates fast (every Twilio call builds
a request, a response and a message object), so full collections come every few thousand
messages. Each walked the whole application: 0.3 to 1.0 s with the GIL held, while the
sending threads waited (bench/fanout.py: the workers spent 0.2-0.3 ms more CPU per SMS
than the baseline's plain clients). Frozen, a full collection walks only what the jobs
made: 13-19 ms. A forking RQ worker gains too: frozen objects are never written by the
collector, so a job's forked child shares their pages with its parent.
"""
from __future__ import annotations

import gc
import importlib

# What a delivery job imports on its first run (the providers are built lazily, per process).
JOB_MODULES = (
    "emergency.jobs.fanout",
    "emergency.jobs.retries",
    "emergency.services.zones",
    "notify.delivery",
    "notify.providers.sendgrid_provider",
    "notify.providers.twilio_provider",
)


def settle_heap() -> int:
    """Import the job code, collect once, and freeze what is left; how many objects froze."""
    for name in JOB_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
