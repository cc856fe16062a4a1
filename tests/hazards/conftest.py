from pathlib import Path

import pytest

from tests.hazards.fake_feeds import FakeFeeds

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"


@pytest.fixture
def fake_feeds():
    feeds = FakeFeeds().start()
    yield feeds
    feeds.stop()
