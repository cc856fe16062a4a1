"""Hazard feeds as administrators manage them, and their health as everyone sees it.

Adding a feed is an administrator's act (it decides what the system listens to); the
console and the API add them through `add_feed`, which checks and audits. A feed's health
is read from what the poller recorded (`emergency.jobs.feeds`): a feed is "down" after
UNHEALTHY_AFTER failed polls in a row, "failing" before that, "ok" once read without error.
"""
from __future__ import annotations

from sqlalchemy import select

from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import FEED_KINDS, Feed
from emergency.services.errors import ServiceError

UNHEALTHY_AFTER = 3  # polls failed in a row before a feed is shown as down
HEALTH_STATES = ("disabled", "down", "failing", "ok", "not_polled")


class FeedRefused(ServiceError):
    """A feed that cannot be added (see `ServiceError`)."""


def health(feed: Feed) -> str:
    if not feed.enabled:
        return "disabled"
    if (feed.consecutive_failures or 0) >= UNHEALTHY_AFTER:
        return "down"
    if feed.consecutive_failures:
        return "failing"
    return "ok" if feed.last_ok_at else "not_polled"


def feeds() -> list[Feed]:
    return list(db_session().scalars(select(Feed).order_by(Feed.name, Feed.id)))


NAME_MAX = 100


def add_feed(name, kind, url) -> Feed:
    """A new enabled feed, polled from the next interval on. Commits."""
    name = name.strip() if isinstance(name, str) else ""
    url = url.strip() if isinstance(url, str) else ""
    if not name:
        raise FeedRefused(N_("Give the feed a name."), field="name")
    if len(name) > NAME_MAX:
        raise FeedRefused(N_("The name is too long (%(limit)s characters at most)."), field="name", limit=NAME_MAX)
    if kind not in FEED_KINDS:
        raise FeedRefused(N_("Choose a kind of feed: usgs, gdacs or cap_index."), field="kind")
    if not url.startswith(("http://", "https://")) or len(url) > 1000:
        raise FeedRefused(N_("Give the feed an http(s) address."), field="url")
    session = db_session()
    if session.scalar(select(Feed.id).where(Feed.url == url)):
        raise FeedRefused(N_("This feed is already on the list."), field="url")
    feed = Feed(name=name, kind=kind, url=url, enabled=True)
    session.add(feed)
    session.flush()
    audit.record("trigger.feed_added", "feed", feed.id, kind=kind)
    session.commit()
    return feed
