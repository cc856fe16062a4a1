"""Noticing a dead worker within seconds, from RQ's own heartbeats, and taking over its work.

A worker killed mid-job (SIGKILL, out of memory, a lost host) leaves three things behind:

1. its job in RQ's StartedJobRegistry. RQ's own cleanup only treats it as abandoned once its
   registry entry expires: the worker's monitoring interval plus 60 s after the last
   heartbeat, and no worker runs that cleanup more often than every 10 minutes.
2. the RQ scheduler lock, if its scheduler process held it: the lock lives 61 s, and the other
   workers try to take it only every 10 minutes (RQ 3.0), so every `enqueue_in` and every
   `Retry` of every queue stalls until then.
3. delivery rows it claimed (`sending`): handled by the next job on the batch, which asks the
   provider before sending them again (notify.delivery.settle_orphans); `orphan_cutoff` tells
   it which claims may belong to a live worker.

Our workers (`emergency.jobs.worker`) heartbeat every HEARTBEAT_SECONDS while a job runs
(RQ's `job_monitoring_interval`), and each runs `recover()` every HEARTBEAT_SECONDS from a
watchdog thread. An execution whose last heartbeat is older than DEAD_AFTER is dead: its
registry entry is marked expired and RQ's own `StartedJobRegistry.cleanup()` does the rest
(the job's `Retry` schedules it again, or it is moved to the failed registry). A scheduler
lock whose holder has not beaten for SCHEDULER_DEAD_AFTER (its scheduler beats every second)
is released, so that a live worker's scheduler takes it at once.

Worst case from the kill to the job running again: DEAD_AFTER (30 s) + one watchdog round
(10 s) + the first Retry interval (5 s) = 45 s, under the minute, with RQ's settings and ours
left at their defaults.
"""
from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta, timezone

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10  # RQ's job_monitoring_interval in our workers (RQ's default: 30)
DEAD_AFTER = 3 * HEARTBEAT_SECONDS  # three missed heartbeats: dead, not slow
SCHEDULER_DEAD_AFTER = 15  # an RQ scheduler beats every second
_REAPER_LOCK = "emergency:recovery-lock"  # one reaper at a time across the workers

# alert-7-sms-3, alert-7-sms-3-a2, alert-7-sms-3-sweep29000000: (alert, channel, batch)
_BATCH_JOB = re.compile(r"^alert-(?P<alert>\d+)-(?P<channel>email|sms)-(?P<batch>\d+)(?:-.*)?$")


def batch_of(job_id: str) -> tuple[int, str, int] | None:
    """The (alert, channel, batch) a delivery job works on, from its id; None for other jobs."""
    match = _BATCH_JOB.match(job_id or "")
    if match is None:
        return None
    return int(match["alert"]), match["channel"], int(match["batch"])


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _queues(connection, names=None):
    from rq import Queue

    from emergency.jobs.runner import QUEUES

    return [Queue(name, connection=connection) for name in (names or QUEUES)]


def started_executions(connection, queue_names=None) -> list[tuple[object, str, str, datetime | None]]:
    """(registry, job id, execution id, last heartbeat) of every started execution of our
    queues, read without RQ's cleanup."""
    from rq.executions import Execution

    found = []
    for queue in _queues(connection, queue_names):
        registry = queue.started_job_registry
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            try:
                execution = Execution.fetch(execution_id, job_id, connection=connection)
                beat = execution.last_heartbeat
            except Exception:  # noqa: BLE001 - the execution's hash is gone: no heartbeat at all
                beat = None
            found.append((registry, job_id, execution_id, beat))
    return found


def live_batches(connection, now: datetime | None = None, exclude_job: str | None = None) -> set[tuple[int, str, int]]:
    """Batches that a live execution (a heartbeat within DEAD_AFTER) is working on."""
    now = now or _utcnow()
    live = set()
    for _registry, job_id, _execution_id, beat in started_executions(connection, ("alerts",)):
        if job_id == exclude_job or beat is None or (now - beat).total_seconds() > DEAD_AFTER:
            continue
        batch = batch_of(job_id)
        if batch is not None:
            live.add(batch)
    return live


def waiting_batches(connection) -> set[tuple[int, str, int]]:
    """Batches that RQ holds a job for: queued, scheduled or started (dead or alive)."""
    held = set()
    for queue in _queues(connection, ("alerts",)):
        ids = list(queue.get_job_ids())
        ids += queue.scheduled_job_registry.get_job_ids(cleanup=False)
        ids += [job_id for job_id, _ in queue.started_job_registry.get_job_and_execution_ids(cleanup=False)]
        held.update(b for b in map(batch_of, ids) if b is not None)
    return held


def reap_dead_executions(connection, now: datetime | None = None) -> list[str]:
    """Hand the executions whose heartbeats stopped to RQ's cleanup (retry or failed); the
    ids of their jobs."""
    now = now or _utcnow()
    dead: dict[str, tuple[object, list[tuple[str, str]]]] = {}  # by registry key
    for registry, job_id, execution_id, beat in started_executions(connection):
        if beat is None or (now - beat).total_seconds() > DEAD_AFTER:
            dead.setdefault(registry.key, (registry, []))[1].append((job_id, execution_id))
    reaped = []
    for registry, entries in dead.values():
        # Expired now (score 1: RQ's cleanup takes entries scored up to the present), so
        # RQ's own cleanup retries each job with its Retry or records it as failed.
        registry.connection.zadd(registry.key, {f"{job_id}:{execution_id}": 1 for job_id, execution_id in entries},
                                 xx=True)
        registry.cleanup()
        for job_id, _ in entries:
            log.warning("job %s: its worker stopped beating; handed to RQ for a retry", job_id)
            reaped.append(job_id)
    return reaped


def free_dead_scheduler_locks(connection, now: datetime | None = None) -> list[str]:
    """Release the scheduler locks whose holder stopped beating; the queues freed."""
    from rq.scheduler import RQScheduler
    from rq.scripts import release_lock

    now = now or _utcnow()
    freed = []
    for queue in _queues(connection):
        key = RQScheduler.get_locking_key(queue.name)
        holder = connection.get(key)
        if holder is None:
            continue
        holder = holder.decode() if isinstance(holder, bytes) else str(holder)
        try:
            beat = RQScheduler.fetch(holder, connection=connection).last_heartbeat
        except Exception:  # noqa: BLE001 - no scheduler hash any more: its process is gone
            beat = None
        if beat is not None and (now - beat).total_seconds() <= SCHEDULER_DEAD_AFTER:
            continue
        if release_lock(connection, key, holder):  # only if still held by that dead holder
            log.warning("scheduler lock of queue %s: holder %s stopped beating; released", queue.name, holder)
            freed.append(queue.name)
    return freed


def recover(connection, now: datetime | None = None) -> dict[str, list[str]]:
    """One round of the watchdog: dead executions to RQ's cleanup, dead scheduler locks freed.
    One process at a time does it (a lock of one round's length), so a job is retried once."""
    token = secrets.token_hex(8)
    if not connection.set(_REAPER_LOCK, token, nx=True, ex=HEARTBEAT_SECONDS):
        return {"reaped": [], "freed": []}
    return {"reaped": reap_dead_executions(connection, now), "freed": free_dead_scheduler_locks(connection, now)}


def orphan_cutoff(connection, alert_id: int, channel: str, batch: int, current_job: str | None,
                  stale_after: timedelta, now: datetime) -> datetime:
    """Claims older than this in the batch belong to no live worker: with no other live
    execution on the batch, any claim older than DEAD_AFTER (the job that made it is dead or
    done); otherwise only claims older than `stale_after`, the claim staleness that no live
    job outlasts."""
    try:
        busy = (alert_id, channel, batch) in live_batches(connection, now, exclude_job=current_job)
    except Exception:  # noqa: BLE001 - Redis unreachable: assume the batch is busy
        log.warning("cannot read RQ's registries; claims younger than %s are left alone", stale_after)
        busy = True
    return now - (stale_after if busy else timedelta(seconds=DEAD_AFTER))
