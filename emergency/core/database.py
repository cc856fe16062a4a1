"""One SQLAlchemy engine per app and a thread-scoped session.

The registry and notify packages take a `Session` argument instead of importing this
module, so they stay free of Flask; the web layer, CLI and jobs pass `db_session()`.
"""
from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    app.extensions["db_engine"] = engine
    app.extensions["db_session"] = scoped_session(factory)

    @app.teardown_appcontext
    def _remove_session(_exc):
        app.extensions["db_session"].remove()


def db_session() -> Session:
    """The session of the current thread for the current app."""
    return current_app.extensions["db_session"]()


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def is_postgres(bind=None) -> bool:
    bind = bind or engine()
    return bind.dialect.name == "postgresql"
