"""A synthetic but realistic registry for demos and benchmarks (`emergency seed --travellers N`).

Travellers go where people are: destinations are real cities drawn with probability
proportional to population, so an incident in Paris touches many and one in the Sahara few.
Stops mix the three precisions seen in real registrations (about 60 % city, 25 % map point a
few km from a city, 15 % country only), trips have one to three stops and lie in the past,
the present and the future relative to today; about a quarter of travellers read French.
Contacts cannot reach anyone: `example.org`-style addresses and 555-0100..0199 numbers,
which are reserved as fictional in North America yet valid for `phonenumbers`.

Speed matters (100k travellers in seconds, 1M possible): sampling is vectorised with numpy
and rows go in through `registry.bulk` (executemany with RETURNING on SQLite, COPY with
ids drawn from the sequences on PostgreSQL). Uses the caller's session and does
not commit. The same `rng_seed` on the same day gives the same registry.
"""
from __future__ import annotations

import math
import unicodedata
from datetime import date, timedelta
from typing import Callable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.clock import utcnow
from geo import countries, gazetteer
from registry import names
from registry.bulk import insert_returning, insert_rows
from registry.models import Stop, Traveller, Trip

CHUNK = 10_000
EXTERNAL_PREFIX = "SEED-"
PRECISIONS = np.array(["city", "point", "country"])
PRECISION_WEIGHTS = (0.60, 0.25, 0.15)
STOP_COUNTS = np.array([1, 2, 3])
STOP_COUNT_WEIGHTS = (0.5, 0.3, 0.2)
FRENCH_SHARE = 0.25
OWN_LANGUAGE_NAMES = 0.9   # share of names drawn from the traveller's own language
PURPOSES = ("tourism", "business", "family", "study", "work")
KM_PER_DEGREE = 111.32

_T = Traveller.__table__
_TRIP = Trip.__table__
_STOP = Stop.__table__


def _ascii_slug(text: str) -> str:
    """`Marie-Ève` -> `marie-eve`, `O'Brien` -> `obrien`: safe for an email local part."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-")


class _Cities:
    """Destination cities (outside the home country) with sampling weights."""

    def __init__(self, home_country: str | None) -> None:
        table = gazetteer.cities_table()
        cols = (table.names, table.lats, table.lons, table.countries, table.populations)
        city_names, lats, lons, codes, pops = (np.asarray(c) for c in cols)
        codes = np.array([str(c).upper() for c in codes])
        known = {c: countries.is_country(c) for c in set(codes.tolist())}
        keep = np.array([known[c] and c != home_country for c in codes], dtype=bool)
        pops = np.asarray(pops, dtype=float)
        keep &= pops > 0
        if not keep.any():
            raise RuntimeError("the gazetteer has no cities to place travellers in")
        self.names = np.asarray(city_names, dtype=object)[keep]
        self.lats = np.asarray(lats, dtype=float)[keep]
        self.lons = np.asarray(lons, dtype=float)[keep]
        self.countries = codes[keep]
        weights = pops[keep]
        self.p = weights / weights.sum()

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(len(self.p), size=size, p=self.p)


def _next_sequence(session: Session) -> int:
    """The first unused SEED-number, so seeding twice adds travellers instead of clashing."""
    ids = select(_T.c.external_id).where(_T.c.external_id.like(f"{EXTERNAL_PREFIX}%"))
    longest = session.scalar(select(func.max(func.length(ids.subquery().c.external_id))))
    if not longest:
        return 1
    top = session.scalar(
        select(func.max(_T.c.external_id)).where(
            _T.c.external_id.like(f"{EXTERNAL_PREFIX}%"), func.length(_T.c.external_id) == longest))
    try:
        return int(top[len(EXTERNAL_PREFIX):]) + 1
    except (TypeError, ValueError):
        return session.scalar(select(func.count()).select_from(_T)) + 1


def _jitter(rng: np.random.Generator, lats: np.ndarray, lons: np.ndarray):
    """Move points 0.5–8 km in a random direction: a hotel, not the city hall."""
    km = rng.uniform(0.5, 8.0, size=len(lats))
    bearing = rng.uniform(0.0, 2 * math.pi, size=len(lats))
    dlat = km * np.cos(bearing) / KM_PER_DEGREE
    coslat = np.maximum(np.cos(np.radians(lats)), 0.01)
    dlon = km * np.sin(bearing) / (KM_PER_DEGREE * coslat)
    new_lats = np.clip(lats + dlat, -90.0, 90.0)
    new_lons = (lons + dlon + 180.0) % 360.0 - 180.0
    return new_lats, new_lons


def _trip_windows(rng: np.random.Generator, counts: np.ndarray, today: date):
    """Per-stop (arrival, departure) offsets in days from today, and residents (no departure).

    A third of trips are over, almost half are under way today, the rest are coming up; 3 %
    of travellers live abroad (one stop, arrived months or years ago, no departure date).
    """
    n = len(counts)
    total = int(counts.sum())
    durations = rng.integers(2, 22, size=total)  # days per stop
    trip_of_stop = np.repeat(np.arange(n), counts)
    firsts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    cum = np.cumsum(durations)
    before = cum - durations  # days from this chunk's start to each stop's arrival
    offset_in_trip = before - before[firsts][trip_of_stop]
    trip_len = np.add.reduceat(durations, firsts)

    kind = rng.choice(3, size=n, p=(0.30, 0.45, 0.25))  # past, present, future
    start = np.where(
        kind == 0, -trip_len - rng.integers(1, 180, size=n),
        np.where(kind == 1, -(rng.random(n) * trip_len).astype(int), rng.integers(1, 180, size=n)))
    resident = (rng.random(n) < 0.03) & (counts == 1)
    start = np.where(resident, -rng.integers(60, 5 * 365, size=n), start)
    arrival = start[trip_of_stop] + offset_in_trip
    departure = arrival + durations
    open_ended = resident[trip_of_stop]
    return arrival, departure, open_ended


def seed(session: Session, n: int, progress: Callable[[int], None] | None = None,
         rng_seed: int = 42, home_country: str | None = "CA",
         today: date | None = None) -> int:
    """Create `n` synthetic travellers (each with one trip of 1–3 stops); return how many.

    `progress(k)` is called after each chunk with the number just created (an increment,
    so `click.progressbar(length=n).update` fits). Destinations
    exclude `home_country` (a consular registry is about citizens abroad). Does not commit.
    """
    if n <= 0:
        return 0
    rng = np.random.default_rng(rng_seed)
    cities = _Cities(home_country.upper() if home_country else None)
    today = today or date.today()
    now = utcnow()
    sequence = _next_sequence(session)
    given_lists = {"en": np.array(names.ENGLISH_GIVEN, dtype=object),
                   "fr": np.array(names.FRENCH_GIVEN, dtype=object)}
    family_lists = {"en": np.array(names.ENGLISH_FAMILY, dtype=object),
                    "fr": np.array(names.FRENCH_FAMILY, dtype=object)}
    slugs = {s: _ascii_slug(s) for lst in (*given_lists.values(), *family_lists.values()) for s in lst}
    area_codes = np.array(names.CANADIAN_AREA_CODES)
    domains = np.array(names.EXAMPLE_DOMAINS)

    created = 0
    while created < n:
        size = min(CHUNK, n - created)
        french = rng.random(size) < FRENCH_SHARE
        languages = np.where(french, "fr", "en")

        def pick(lists, own_french):
            own = rng.random(size) < OWN_LANGUAGE_NAMES
            use_fr = np.where(own, own_french, ~own_french)
            en_pick = lists["en"][rng.integers(0, len(lists["en"]), size=size)]
            fr_pick = lists["fr"][rng.integers(0, len(lists["fr"]), size=size)]
            return np.where(use_fr, fr_pick, en_pick)

        given = pick(given_lists, french)
        family = pick(family_lists, french)
        phone_area = area_codes[rng.integers(0, len(area_codes), size=size)]
        phone_line = rng.integers(100, 200, size=size)
        domain = domains[rng.integers(0, len(domains), size=size)]
        purposes = rng.integers(0, len(PURPOSES), size=size)

        traveller_rows = []
        for i in range(size):
            seq = sequence + created + i
            traveller_rows.append({
                "external_id": f"{EXTERNAL_PREFIX}{seq:06d}",
                "given_name": given[i], "family_name": family[i],
                "email": f"{slugs[given[i]]}.{slugs[family[i]]}.{seq}@{domain[i]}",
                "phone": f"+1{phone_area[i]}5550{phone_line[i]}",
                "language": str(languages[i]), "source": "seed",
                "consent_at": now, "created_at": now, "updated_at": now,
            })
        # ids come back as (id, key) pairs, in no promised order: map back by key
        id_of = dict((ext, tid) for tid, ext in insert_returning(
            session, _T, traveller_rows, "external_id"))
        traveller_ids = [id_of[row["external_id"]] for row in traveller_rows]
        trip_of = dict((tid, trip) for trip, tid in insert_returning(
            session, _TRIP,
            [{"traveller_id": tid, "purpose": PURPOSES[purposes[i]], "created_at": now}
             for i, tid in enumerate(traveller_ids)], "traveller_id"))
        trip_ids = [trip_of[tid] for tid in traveller_ids]

        counts = rng.choice(STOP_COUNTS, size=size, p=STOP_COUNT_WEIGHTS)
        total = int(counts.sum())
        city = cities.sample(rng, total)
        precision = PRECISIONS[rng.choice(3, size=total, p=PRECISION_WEIGHTS)]
        lats, lons = cities.lats[city], cities.lons[city]
        jlats, jlons = _jitter(rng, lats, lons)
        is_point = precision == "point"
        lats = np.where(is_point, jlats, lats)
        lons = np.where(is_point, jlons, lons)
        arrival, departure, open_ended = _trip_windows(rng, counts, today)
        owner = np.repeat(np.arange(size), counts)

        # Plain Python values, converted once per column rather than once per cell.
        day = {}
        for offset in np.unique(np.concatenate((arrival, departure))).tolist():
            day[offset] = today + timedelta(days=offset)
        country_only = (precision == "country").tolist()
        stop_rows = [
            {"trip_id": trip_ids[i], "traveller_id": traveller_ids[i], "country": code,
             "place": None if bare else place, "lat": None if bare else la,
             "lon": None if bare else lo, "precision": prec, "arrival": day[arr],
             "departure": None if open_ else day[dep]}
            for i, code, place, la, lo, prec, bare, arr, dep, open_ in zip(
                owner.tolist(), cities.countries[city].tolist(), cities.names[city].tolist(),
                np.round(lats, 6).tolist(), np.round(lons, 6).tolist(), precision.tolist(),
                country_only, arrival.tolist(), departure.tolist(), open_ended.tolist())
        ]
        insert_rows(session, _STOP, stop_rows)
        created += size
        if progress:
            progress(size)
    session.flush()
    return created
