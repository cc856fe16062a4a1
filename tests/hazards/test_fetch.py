"""Conditional GET, timeouts and retries against the local fake feed server."""
from __future__ import annotations

import pytest

from hazards.fetch import FetchError, fetch


def test_a_second_fetch_with_the_etag_is_a_304_without_a_body(fake_feeds):
    url = fake_feeds.publish("/usgs.json", b'{"type": "FeatureCollection", "features": []}')
    first = fetch(url)
    assert first.status == 200 and first.body.startswith(b"{") and first.etag and first.last_modified
    second = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.unchanged and second.body is None and second.etag == first.etag
    assert fake_feeds.hits("/usgs.json")[-1]["If-None-Match"] == first.etag


def test_last_modified_alone_is_honoured(fake_feeds):
    url = fake_feeds.publish("/feed.xml", b"<rss/>")
    first = fetch(url)
    assert fetch(url, last_modified=first.last_modified).unchanged


def test_a_new_version_is_fetched_again(fake_feeds):
    url = fake_feeds.publish("/feed.xml", b"<rss>1</rss>")
    first = fetch(url)
    fake_feeds.publish("/feed.xml", b"<rss>2</rss>")
    again = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert again.status == 200 and again.body == b"<rss>2</rss>"


def test_a_server_error_is_retried_then_reported(fake_feeds):
    fake_feeds.publish("/down", b"x")
    fake_feeds.fail("/down", "500")
    with pytest.raises(FetchError, match="500"):
        fetch(fake_feeds.url("/down"), retries=2, backoff=0.01)
    assert len(fake_feeds.hits("/down")) == 3  # the first try and two retries


def test_a_slow_server_times_out(fake_feeds):
    fake_feeds.publish("/slow", b"x")
    fake_feeds.fail("/slow", "timeout")
    with pytest.raises(FetchError, match="Timeout|timed out"):
        fetch(fake_feeds.url("/slow"), timeout=0.5, retries=0)


def test_a_body_over_the_limit_is_refused(fake_feeds):
    url = fake_feeds.publish("/big", b"x" * 200_000)
    with pytest.raises(FetchError, match="larger"):
        fetch(url, max_bytes=100_000)


def test_nothing_listening_is_a_fetch_error():
    with pytest.raises(FetchError):
        fetch("http://127.0.0.1:9/feed", retries=0, timeout=1)
