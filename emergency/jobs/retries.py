"""How a delivery batch job deals with temporary provider failures.

`send_*_batch` (notify.delivery) leaves rows that hit a 429, a 5xx or a timeout `pending`
and raises RetryLater with the provider's Retry-After. The job then schedules itself
again, under a deterministic id with an attempt suffix (`alert-7-sms-3-a2`), after
max(Retry-After, backoff × jitter): exponential, so a struggling provider gets air;
jittered, so workers that failed together do not return together. RQ's own fixed Retry
stays as the safety net for crashes; the delivery rows remain the truth.

Each run first settles the batch's orphans, rows a dead worker claimed: `orphans_before`
says which claims no live worker can still be sending (emergency.jobs.recovery).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app

from common.clock import utcnow
from emergency.jobs.runner import enqueue_in
from notify.errors import RetryLater
from notify.retry import retry_delay

log = logging.getLogger(__name__)


def batch_options() -> dict:
    """The claim and attempt limits of `send_*_batch`, from configuration."""
    config = current_app.config
    return {"stale_after": timedelta(seconds=config["DELIVERY_STALE_SECONDS"]),
            "max_attempts": config["DELIVERY_MAX_ATTEMPTS"]}


def batch_sizes() -> dict[str, int]:
    """Recipients per delivery job, per channel, from configuration. An SMS batch is capped
    at what TWILIO_MPS sends in half of JOB_TIMEOUT (five minutes by default): a batch paced
    by a low cap (one number: one message a second) must finish well within the job's
    timeout, or the job is killed and its last slices wait for the sweep."""
    config = current_app.config
    sms = config["SMS_BATCH_SIZE"]
    if config.get("TWILIO_MPS"):
        sms = max(1, min(sms, int(config["TWILIO_MPS"] * config["JOB_TIMEOUT"] / 2)))
    return {"email": config["EMAIL_BATCH_SIZE"], "sms": sms}


def orphans_before(alert_id: int, channel: str, batch: int) -> datetime:
    """Claims of the batch older than this belong to no live worker. With RQ, the workers'
    heartbeats tell (a dead worker's claims are orphans within DEAD_AFTER); elsewhere only a
    claim older than DELIVERY_STALE_SECONDS, which no live job outlasts."""
    config = current_app.config
    stale_after = timedelta(seconds=config["DELIVERY_STALE_SECONDS"])
    now = utcnow()
    runner = current_app.extensions.get("jobs")
    redis = getattr(runner, "redis", None)
    if redis is None:
        return now - stale_after
    from rq import get_current_job

    from emergency.jobs.recovery import orphan_cutoff

    current = get_current_job()
    return orphan_cutoff(redis, alert_id, channel, batch, current.id if current is not None else None,
                         stale_after, now)


def sweep_scope() -> tuple[datetime, set[tuple[int, str, int]]]:
    """What the sweep re-queues: (rows created before this, batches to leave alone). With RQ,
    any batch whose rows wait beyond DEAD_AFTER and for which RQ holds no job (queued,
    scheduled or started: a dead started job is the watchdog's, which retries it); elsewhere
    batches waiting five minutes (at most DELIVERY_STALE_SECONDS)."""
    config = current_app.config
    now = utcnow()
    redis = getattr(current_app.extensions.get("jobs"), "redis", None)
    if redis is None:
        return now - timedelta(seconds=min(300, config["DELIVERY_STALE_SECONDS"])), set()
    from emergency.jobs.recovery import DEAD_AFTER, waiting_batches

    return now - timedelta(seconds=DEAD_AFTER), waiting_batches(redis)


def batch_job_id(alert_id: int, channel: str, batch: int, attempt: int = 0) -> str:
    base = f"alert-{alert_id}-{channel}-{batch}"
    return base if attempt == 0 else f"{base}-a{attempt}"


def with_retries(task: Callable, alert_id: int, channel: str, batch: int, attempt: int,
                 send: Callable[..., object]) -> bool:
    """Run `send(**batch_options(), orphans_before=...)`; on RetryLater schedule `task` again.
    True if it finished."""
    config = current_app.config
    try:
        send(**batch_options(), orphans_before=orphans_before(alert_id, channel, batch))
        return True
    except RetryLater as exc:
        following = attempt + 1
        if following >= config["DELIVERY_MAX_ATTEMPTS"]:
            log.error("alert %s %s batch %s: %s still pending after %s attempts; the sweep will retry",
                      alert_id, channel, batch, exc.pending, following)
            return False
        delay = retry_delay(following, exc.retry_after, base=config["DELIVERY_RETRY_BASE"],
                            cap=config["DELIVERY_RETRY_CAP"])
        job_id = batch_job_id(alert_id, channel, batch, following)
        if enqueue_in(delay, task, alert_id, batch, following, job_id=job_id, queue="alerts"):
            log.warning("alert %s %s batch %s: %s message(s) pending (%s); retry %s in %.1fs",
                        alert_id, channel, batch, exc.pending, exc.reason, following, delay)
        else:  # a job of that id exists (this run is itself a second run): it will take them
            log.warning("alert %s %s batch %s: %s message(s) pending (%s); retry %s was already queued "
                        "as %s, nothing scheduled", alert_id, channel, batch, exc.pending, exc.reason, following,
                        job_id)
        return False

