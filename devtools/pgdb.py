"""Throwaway PostgreSQL databases for tests and benchmarks: created under a random name,
given the extensions asked for, dropped on leaving (WITH (FORCE), so connections a test or
a worker left open do not keep it alive)."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, text

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Unavailable(Exception):
    """The server, or an extension, cannot be used; `what` names which."""

    def __init__(self, what: str, cause: Exception) -> None:
        super().__init__(f"{what}: {cause}")
        self.what, self.cause = what, cause


@contextmanager
def throwaway_database(prefix: str, extensions: tuple[str, ...] = (),
                       admin_url: str = DEFAULT_ADMIN_URL, keep: bool = False) -> Iterator[str]:
    """The URL of a new database named <prefix>_<random>; raises Unavailable before yielding
    if it cannot be created or an extension is missing (the database is dropped again).
    `keep`: leave it behind for inspection (a benchmark's --keep)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not available"
        raise Unavailable("PostgreSQL", exc) from exc
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        for extension in extensions:
            try:
                engine = create_engine(url)
                with engine.begin() as conn:
                    conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{extension}"'))
                engine.dispose()
            except Exception as exc:  # noqa: BLE001
                raise Unavailable(f"PostgreSQL extension {extension}", exc) from exc
        yield url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
