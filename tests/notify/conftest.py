"""Fixtures for notify: a temporary database on SQLite and on PostgreSQL, and the local fake providers."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from devtools.fake_providers import FakeSendGrid, FakeTwilio
from notify.models import NotifyBase
from tests.conftest import require_marker


@pytest.fixture(scope="session")
def notify_pg_url():
    """A PostgreSQL database of its own for the notify tests (claims take another path there:
    FOR UPDATE SKIP LOCKED), dropped at the end; NOTIFY_TEST_DATABASE_URL overrides it."""
    if os.environ.get("NOTIFY_TEST_DATABASE_URL"):
        yield os.environ["NOTIFY_TEST_DATABASE_URL"]
        return
    from tests.conftest import throwaway_database

    with throwaway_database("notify_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgis)])
def engine(request, tmp_path):
    """A fresh notify schema on each database: a temporary SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notify.db'}"
    else:
        require_marker(request, "postgis")
        url = request.getfixturevalue("notify_pg_url")
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
