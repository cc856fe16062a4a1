"""One SQLAlchemy engine per app and a thread-scoped session.

The registry and notify packages take a `Session` argument instead of importing this
module, so they stay free of Flask; the web layer, CLI and jobs pass `db_session()`.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction, scoped_session, sessionmaker

log = logging.getLogger(__name__)
_AFTER_COMMIT = "after_commit_callbacks"


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
    event.listen(factory, "after_commit", _run_after_commit)
    event.listen(factory, "after_transaction_end", _forget_after_commit)
    app.extensions["db_engine"] = engine
    app.extensions["db_session"] = scoped_session(factory)

    @app.teardown_appcontext
    def _remove_session(_exc):
        app.extensions["db_session"].remove()


def db_session() -> Session:
    """The session of the current thread for the current app."""
    return current_app.extensions["db_session"]()


def after_commit(callback: Callable[[], object], session: Session | None = None) -> None:
    """Call `callback()` once the session's current transaction commits (never if it rolls
    back): the way a service that only flushes, and leaves committing to its caller, queues
    a job about what it wrote, since a job queued before the commit could run before the
    rows exist. The callback runs when the database has the rows but the session cannot
    emit SQL, so it must only queue work (a job uses a session of its own); a callback that
    fails is logged, since the data it is about is committed whatever happens to it."""
    session = session if session is not None else db_session()
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:  # the commit stands; say what could not be queued
            log.exception("after-commit callback %r failed", callback)


def _forget_after_commit(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit (rolled back, or the session closed):
    # what it wrote is gone, so is what was to follow it.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def is_postgres(bind=None) -> bool:
    bind = bind or engine()
    return bind.dialect.name == "postgresql"
