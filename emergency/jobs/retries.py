"""How a delivery batch job deals with temporary provider failures.

`send_*_batch` (notify.delivery) leaves rows that hit a 429, a 5xx or a timeout `pending`
and raises RetryLater with the provider's Retry-After. The job then schedules itself
again, under a deterministic id with an attempt suffix (`alert-7-sms-3-a2`), after
max(Retry-After, backoff × jitter): exponential, so a struggling provider gets air;
jittered, so workers that failed together do not return together. RQ's own fixed Retry
stays as the safety net for crashes; the delivery rows remain the truth.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from flask import current_app

from emergency.jobs.runner import enqueue_in
from notify.errors import RetryLater
from notify.retry import retry_delay

log = logging.getLogger(__name__)


def batch_options() -> dict:
    """The claim and attempt limits of `send_*_batch`, from configuration."""
    config = current_app.config
    return {"stale_after": timedelta(seconds=config["DELIVERY_STALE_SECONDS"]),
            "max_attempts": config["DELIVERY_MAX_ATTEMPTS"]}


# A delivery job may run for at most JOB_TIMEOUT (emergency/jobs.py, 600 s); a batch is
# kept small enough to be sent in half of that at the configured provider throughput.
_BATCH_SECONDS = 300


def batch_sizes() -> dict[str, int]:
    """Recipients per delivery job, per channel, from configuration. An SMS batch is capped
    at what TWILIO_MPS sends in five minutes: a batch paced by a low cap (one number: one
    message a second) must finish well within the job's timeout, or the job is killed and
    its last slices wait for the sweep."""
    config = current_app.config
    sms = config["SMS_BATCH_SIZE"]
    if config.get("TWILIO_MPS"):
        sms = max(1, min(sms, int(config["TWILIO_MPS"] * _BATCH_SECONDS)))
    return {"email": config["EMAIL_BATCH_SIZE"], "sms": sms}


def batch_job_id(alert_id: int, channel: str, batch: int, attempt: int = 0) -> str:
    base = f"alert-{alert_id}-{channel}-{batch}"
    return base if attempt == 0 else f"{base}-a{attempt}"


def with_retries(task: Callable, alert_id: int, channel: str, batch: int, attempt: int,
                 send: Callable[..., object]) -> bool:
    """Run `send(**batch_options())`; on RetryLater schedule `task` again. True if it finished."""
    config = current_app.config
    try:
        send(**batch_options())
        return True
    except RetryLater as exc:
        following = attempt + 1
        if following >= config["DELIVERY_MAX_ATTEMPTS"]:
            log.error("alert %s %s batch %s: %s still pending after %s attempts; the sweep will retry",
                      alert_id, channel, batch, exc.pending, following)
            return False
        delay = retry_delay(following, exc.retry_after, base=config["DELIVERY_RETRY_BASE"],
                            cap=config["DELIVERY_RETRY_CAP"])
        log.warning("alert %s %s batch %s: %s message(s) pending (%s); retry %s in %.1fs",
                    alert_id, channel, batch, exc.pending, exc.reason, following, delay)
        enqueue_in(delay, task, alert_id, batch, following,
                   job_id=batch_job_id(alert_id, channel, batch, following), queue="alerts")
        return False

