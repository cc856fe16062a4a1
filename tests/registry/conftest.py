"""Fixtures of the registry tests: an engine on a migrated SQLite database of the test's own,
and a session on it that keeps its objects readable after a commit."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker

from tests.registry.helpers import migrated_sqlite_engine


@pytest.fixture
def engine(tmp_path):
    eng = migrated_sqlite_engine(tmp_path / "registry.db")
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    s = sessionmaker(bind=engine, expire_on_commit=False)()
    yield s
    s.close()
