"""What the SQLite stop-index tests share: the places and dates they ask about, a migrated
database of their own, a traveller with one stop, and who the affected set finds."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from emergency.core.database import make_engine
from geo.zones import circle
from registry.affected import external_ids, find_affected
from registry.models import Stop
from tests.conftest import _migrated_sqlite_template, insert_traveller

START, END = date(2025, 3, 10), date(2025, 3, 20)
DURING = (date(2025, 3, 8), date(2025, 3, 15))
OTTAWA = (45.4215, -75.6972)
MONTREAL = (45.5017, -73.5673)
TORONTO = (43.6532, -79.3832)
OTTAWA_300 = circle(*OTTAWA, 300)


def migrated_sqlite_engine(path: Path) -> Engine:
    """An engine on a copy, at `path`, of the SQLite database migrated once per test session
    (copying is much faster than migrating again)."""
    shutil.copyfile(_migrated_sqlite_template(), path)
    return make_engine(f"sqlite:///{path}")


def add_stop(session, point=MONTREAL, country="CA", dates=DURING, external_id=None,
             precision="point", commit=True) -> Stop:
    """A new traveller with one trip of one stop at `point`, or in `country` only when `point`
    is None. Committed, or only flushed with commit=False (the session's own rows)."""
    lat, lon = point if point else (None, None)
    traveller = insert_traveller(session, {"country": country, "lat": lat, "lon": lon,
                                           "precision": "country" if point is None else precision,
                                           "arrival": dates[0], "departure": dates[1]},
                                 external_id=external_id, commit=commit)
    return session.scalars(select(Stop).where(Stop.traveller_id == traveller.id)).one()


def found(session, zone=OTTAWA_300, start=START, end=END) -> list[str]:
    """The external ids of the travellers the affected set finds, in its order."""
    rows = find_affected(session, zone, start, end)
    references = external_ids(session, [r.traveller_id for r in rows])
    return [references[r.traveller_id] for r in rows]
