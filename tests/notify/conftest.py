"""Fixtures for notify: a temporary SQLite database and the local fake providers."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from devtools.fake_providers import FakeSendGrid, FakeTwilio
from notify.models import NotifyBase


@pytest.fixture
def engine(tmp_path):
    """A fresh notify schema: a temporary SQLite file, or NOTIFY_TEST_DATABASE_URL if set."""
    url = os.environ.get("NOTIFY_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'notify.db'}"
    engine = create_engine(url)
    NotifyBase.metadata.drop_all(engine)
    NotifyBase.metadata.create_all(engine)
    yield engine
    if not url.startswith("sqlite"):
        NotifyBase.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def session_factory(engine):
    return sessionmaker(bind=engine)


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def fake_sendgrid():
    with FakeSendGrid(api_key="SG.test-key") as server:
        yield server


@pytest.fixture
def fake_twilio():
    with FakeTwilio(account_sid="AC" + "1" * 32, auth_token="secret-token") as server:
        yield server
