"""Temporary `backend_session` fixture for the registry tests.

Same name and meaning as the shared fixture the lead is adding to tests/conftest.py (a
Session on a freshly prepared, empty database, for SQLite and for PostgreSQL+PostGIS);
the shared one, built on the Alembic migrations, replaces this file. PostGIS is skipped
when the server is not reachable, unless CI=true, where it is mandatory.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from registry.models import RegistryBase

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/emergency_test")

GEOM_COLUMN = (
    "ALTER TABLE stops ADD COLUMN geom geometry(Point,4326) GENERATED ALWAYS AS "
    "(CASE WHEN lon IS NOT NULL AND lat IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END) STORED"
)


def _sqlite_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'registry.db'}")

    @event.listens_for(engine, "connect")
    def _fk_on(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    RegistryBase.metadata.create_all(engine)
    return engine


def _postgis_engine():
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = 'emergency_test'")
            ).scalar()
            if not exists:
                conn.execute(text("CREATE DATABASE emergency_test"))
        admin.dispose()
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except Exception as exc:  # server down, no PostGIS...
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL with PostGIS not available: {exc}")
    RegistryBase.metadata.drop_all(engine)
    RegistryBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text(GEOM_COLUMN))
        conn.execute(text("CREATE INDEX ix_stops_geom ON stops USING gist (geom)"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def backend_session(request, tmp_path):
    engine = _sqlite_engine(tmp_path) if request.param == "sqlite" else _postgis_engine()
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        if request.param == "postgis":
            RegistryBase.metadata.drop_all(engine)
        engine.dispose()
