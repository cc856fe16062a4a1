"""Bulk writes of many registry rows at once, the fastest way each database offers.

SQLite: Core `insert()` executemany in chunks. PostgreSQL: `COPY FROM STDIN` on the
session's own connection (same transaction), ids taken from the table's sequence
beforehand when the caller needs them back. COPY skips building and parsing huge
multi-row INSERT statements, which is where executemany spent its time on PostgreSQL
(bench/import.py and bench/affected.py's seeding measure it). Shared by the CSV importer
and the synthetic seed, so both load a national registry at the same speed.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import ARRAY, any_, bindparam, func, insert, select
from sqlalchemy.orm import Session

CHUNK = 5_000  # rows per executemany (SQLite)
IN_CHUNK = 500  # values per IN (...) lookup (SQLite)
PG_ANY_CHUNK = 20_000  # values per = ANY(array) lookup (PostgreSQL)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def copy_rows(session: Session, table, rows: list[dict]) -> None:
    """PostgreSQL only: COPY `rows` (dicts with the same keys) into `table`."""
    columns = list(rows[0])
    raw = session.connection().connection.dbapi_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


def insert_rows(session: Session, table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) in the caller's transaction."""
    if not rows:
        return
    if is_postgres(session):
        copy_rows(session, table, rows)
        return
    for chunk in chunks(rows, CHUNK):
        session.execute(insert(table), chunk)


def insert_returning(session: Session, table, rows: list[dict], key: str) -> list[tuple[int, Any]]:
    """Insert `rows` and return `[(new id, row[key])]` (key values are unique among rows)."""
    if not rows:
        return []
    if is_postgres(session):
        ids = session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
            .select_from(func.generate_series(1, len(rows)))).all()
        rows = [{"id": new_id, **row} for new_id, row in zip(ids, rows)]
        copy_rows(session, table, rows)
        return [(row["id"], row[key]) for row in rows]
    out: list[tuple[int, Any]] = []
    for chunk in chunks(rows, CHUNK):
        out.extend(tuple(r) for r in session.execute(insert(table).returning(table.c.id, table.c[key]), chunk))
    return out


def membership(session: Session):
    """(`member(column, values)`, chunk size) for looking rows up by many keys: `IN (...)`
    on SQLite; `= ANY(array)` with a single array parameter on PostgreSQL, where a long IN
    list costs more to send and parse than the lookup itself, and a statement whose text
    changes with the number of values is never reused."""
    if not is_postgres(session):
        return (lambda column, values: column.in_(values)), IN_CHUNK

    def member(column, values):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))

    return member, PG_ANY_CHUNK
