"""Polling the hazard feeds: one job per feed, so a feed that is down or returns garbage
is marked unhealthy and never stops the others.

`poll_all` queues `poll_feed` for every enabled feed; `emergency cron` registers it with
RQ's CronScheduler every FEED_POLL_SECONDS. In the embedded thread mode a daemon timer in
the web process does the same, started by the first request (command-line tools that build
the app never poll). Job ids carry the poll slot (feed id and the interval number), so a
feed is polled once per interval however many schedulers ask.

A poll asks with the feed's ETag and Last-Modified (a 304 costs nothing), parses the body,
and applies each event through `services.hazards.apply_event`; the validators are stored
only after every event was applied, so a failure part-way means the next poll reads the
feed again (events already applied are no-ops by their version). CAP index entries hand
their CAP document to `services.cap_in.ingest`; when that returns the events it read (or
is not available), they are applied like the others.
"""
from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy import select

from common.clock import utcnow
from emergency.core.database import db_session
from emergency.core.models import Feed, Hazard
from emergency.jobs.runner import enqueue, job
from hazards import cap_index, gdacs, usgs
from hazards.events import FeedError, HazardEvent
from hazards.fetch import FetchError, fetch

log = logging.getLogger(__name__)
_ERROR_MAX = 2000
PARSERS = {"usgs": usgs.parse, "gdacs": gdacs.parse}


def job_id(feed_id: int, now: float | None = None) -> str:
    interval = max(1, int(current_app.config["FEED_POLL_SECONDS"]))
    return f"feed-{feed_id}-poll-{int((now or time.time()) // interval)}"


@job
def poll_all() -> int:
    """Queue a poll of every enabled feed; returns how many were queued."""
    ids = list(db_session().scalars(select(Feed.id).where(Feed.enabled.is_(True)).order_by(Feed.id)))
    db_session().rollback()  # end the read before the jobs (sync mode runs them here)
    queued = 0
    for feed_id in ids:
        queued += bool(enqueue(poll_feed, feed_id, job_id=job_id(feed_id), queue="alerts"))
    return queued


@job
def poll_feed(feed_id: int) -> int:
    """Fetch one feed and apply its events; returns how many events changed. A failure is
    recorded on the feed (health) and logged, never raised: the next poll tries again."""
    from emergency.services import hazards

    session = db_session()
    feed = session.get(Feed, feed_id)
    if feed is None or not feed.enabled:
        return 0
    feed.last_polled_at = utcnow()
    session.commit()
    try:
        result = fetch(feed.url, feed.etag, feed.last_modified, timeout=current_app.config["FEED_TIMEOUT"])
        entries = [] if result.unchanged else _parse(feed.kind, result.body)
    except (FetchError, FeedError) as exc:
        _failed(feed, str(exc))
        return 0
    changed, failures = 0, 0
    for event, document in entries:
        try:
            for item in _events(feed, event, document):
                changed += hazards.apply_event(item, feed_id=feed.id).changed
        except Exception as exc:  # one bad event must not hide the rest of the feed
            session.rollback()
            failures += 1
            log.exception("feed %s: event %s failed", feed.id, event.source_id)
            last = f"{type(exc).__name__}: {exc}"
    feed = session.get(Feed, feed_id)
    if failures:
        _failed(feed, f"{failures} event(s) could not be applied; last: {last}")
        return changed
    feed.last_ok_at, feed.last_error, feed.consecutive_failures = utcnow(), None, 0
    if not result.unchanged:
        feed.etag, feed.last_modified = result.etag, result.last_modified
    session.commit()
    return changed


def _parse(kind: str, body: bytes) -> list[tuple[HazardEvent, cap_index.CapEntry | None]]:
    if kind == "cap_index":
        return [(entry.event, entry) for entry in cap_index.parse(body) if entry.actual]
    return [(event, None) for event in PARSERS[kind](body)]


def _failed(feed: Feed, message: str) -> None:
    feed.consecutive_failures = (feed.consecutive_failures or 0) + 1
    feed.last_error = message[:_ERROR_MAX]
    db_session().commit()
    log.warning("feed %s (%s) failed %s time(s) in a row: %s", feed.id, feed.url, feed.consecutive_failures, message)


def _known(event: HazardEvent) -> bool:
    row = db_session().execute(select(Hazard.version, Hazard.status).where(
        Hazard.source == event.source, Hazard.source_id == event.source_id)).first()
    return row is not None and row.version == event.version and row.status == event.status


def _events(feed: Feed, event: HazardEvent, entry: cap_index.CapEntry | None) -> list[HazardEvent]:
    """The events one feed item stands for: itself. A CAP index entry is judged by the rules
    from its summary like any other event (a feed of CAP alerts must not open a draft per
    alert: the rules decide)."""
    return [event]
