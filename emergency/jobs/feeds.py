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
feed again (events already applied are no-ops by their version).

A CAP index entry is judged by the rules like any other event (a feed of CAP alerts must not
open a draft per alert: the rules decide), but its summary often says little: a geocode
instead of a shape, an English title. When the entry embeds or links its CAP document, the
document is read with `cap.read.read` (the same validation as the trigger API, and nothing
else: it is not ingested as a message of its own) and lends the event its `<area>` polygons
and circles when the summary has no shape, and its English and French `<info>` headlines
for the two titles of the draft a rule may open. A document that cannot be fetched or is
refused leaves the summary event as it is, with the reasons in the log; a document whose
status is not Actual (Test, Exercise, System, Draft) withdraws nothing and triggers nothing.
Documents are read only for entries whose version is new, so an unchanged index costs no
document fetches.
"""
from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy import select

from cap.model import Alert as CapAlert
from cap.read import MAX_BYTES as CAP_MAX_BYTES
from cap.read import CapError
from cap.read import read as read_cap
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
    """The events one feed item stands for: itself, completed from its CAP document when it
    is a CAP index entry (see the module); none when that document is not an Actual alert."""
    if entry is None or _known(event):
        return [event]
    document = entry.document
    if document is None and entry.document_url:
        try:
            result = fetch(entry.document_url, timeout=current_app.config["FEED_TIMEOUT"], retries=1,
                           max_bytes=CAP_MAX_BYTES)
        except FetchError as exc:
            log.warning("feed %s: CAP document of %s not fetched, the index summary stands: %s", feed.id,
                        event.source_id, exc)
            return [event]
        document = result.body
    if not document:
        return [event]
    try:
        alerts = read_cap(document)
    except CapError as err:
        log.warning("feed %s: CAP document of %s refused, the index summary stands: %s", feed.id, event.source_id,
                    "; ".join(f"{p.path}: {p.code}" for p in err.problems[:20]))
        return [event]
    alert = next((a for a in alerts if a.identifier in (event.source_id, *event.aliases)), alerts[0])
    if alert.status != "Actual":
        log.info("feed %s: CAP document of %s is %s, not an alert", feed.id, event.source_id, alert.status)
        return []
    return [with_document(event, alert)]


def with_document(event: HazardEvent, alert: CapAlert) -> HazardEvent:
    """`event` completed from its CAP document: the document's areas (CAP "lat,lon" text,
    circles kept as circles, so `hazards.zone` makes them exact geodesic circles) when the
    summary gave no shape, its en and fr headlines as the event's titles, and the severity
    and end the summary left out. The summary's own values win where it has them."""
    if not (event.shape or event.cap_polygons or event.cap_circles):
        polygons, circles = [], []
        for info in alert.infos:
            for area in info.areas:
                for ring in area.polygons:
                    text = " ".join(f"{lat},{lon}" for lon, lat in ring)
                    if text not in polygons:
                        polygons.append(text)
                for c in area.circles:
                    text = f"{c.lat},{c.lon} {c.radius_km}"
                    if c.radius_km > 0 and text not in circles:
                        circles.append(text)
        event.cap_polygons, event.cap_circles = polygons, circles
    titles = {}
    for lang in ("en", "fr"):
        info = alert.info_for(lang)
        if info is not None and (info.headline or info.event):
            titles[lang] = (info.headline or info.event).strip()[:300]
    event.titles = titles
    first = alert.info_for("en") or (alert.infos[0] if alert.infos else None)
    if first is not None and event.kind == "other":
        event.kind = cap_index.kind_of(first.event, first.categories[0] if first.categories else None)
    if first is not None and not event.severity and first.severity != "Unknown":
        event.severity = first.severity
    ends = [i.expires for i in alert.infos if i.expires]
    if event.ends is None and ends:
        event.ends = max(ends)
    return event
