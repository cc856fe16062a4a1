"""Fixtures for notify: a temporary database on SQLite and on PostgreSQL, and the local fake providers."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from devtools.fake_providers import FakeSendGrid, FakeTwilio
from notify.models import NotifyBase


@pytest.fixture(scope="session")
def notify_pg_url():
    """A PostgreSQL database of its own for the notify tests (claims take another path there:
    FOR UPDATE SKIP LOCKED), dropped at the end; NOTIFY_TEST_DATABASE_URL overrides it."""
    if os.environ.get("NOTIFY_TEST_DATABASE_URL"):
        yield os.environ["NOTIFY_TEST_DATABASE_URL"]
        return
    from tests.conftest import PG_ADMIN_URL, _unavailable

    name = f"notify_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not available"
        _unavailable("PostgreSQL", exc)
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A fresh notify schema on each database: a temporary SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notify.db'}"
    else:
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
