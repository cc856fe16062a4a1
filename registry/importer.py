"""Bulk import of travellers from CSV (`emergency import-travellers FILE.csv`).

The contract (DESIGN.md): one row per stop, columns
`external_id,given_name,family_name,email,phone,language,country,place,lat,lon,arrival,departure`
(any order, header required, nothing missing, nothing extra); rows with the same
`external_id` are one traveller, wherever they are in the file. Bad rows are reported by
physical line number (the header is line 1) with a reason; good rows are imported; nothing is
half-written: one bad row keeps its whole traveller out, and the other rows of that traveller
are reported as skipped because of it.

Re-importing is an upsert keyed on `(partner, external_id)`: personal fields are updated, and the stops
of the traveller's imported trip (the trip whose `purpose` is `IMPORT_TRIP_PURPOSE`) are
replaced; a traveller whose data did not change is not touched. Trips the traveller added
themselves are never touched.

Fast enough for 100k rows in seconds: each row is checked with the same validators as the
web form, with caches for repeated values (places, dates, contacts), and rows are written
with Core `insert()` executemany in chunks on SQLite and `COPY FROM STDIN` on PostgreSQL. Writes go through the caller's session; the
caller commits (one transaction for all good travellers).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TextIO

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from common.clock import utcnow
from common.i18n import N_
from geo import countries, gazetteer
from registry.bulk import chunks, insert_returning, insert_rows, membership
from registry.errors import FieldError, ImportFileError, ValidationFailed
from registry.models import Stop, Traveller, Trip
from registry.validation import (
    check_window,
    normalise_country,
    normalise_email,
    normalise_language,
    normalise_name,
    normalise_phone,
    normalise_place,
    parse_date,
    parse_lat,
    parse_lon,
)

COLUMNS = ("external_id", "given_name", "family_name", "email", "phone", "language",
           "country", "place", "lat", "lon", "arrival", "departure")
PERSONAL = ("given_name", "family_name", "email", "phone", "language")
IMPORT_TRIP_PURPOSE = "import"
SOURCE = "import"
MAX_EXTERNAL_ID_LENGTH = 100
CHUNK = 5_000          # rows per executemany
PROGRESS_BYTES = 64_000  # report progress about this often

_T = Traveller.__table__
_TRIP = Trip.__table__
_STOP = Stop.__table__


@dataclass
class ImportReport:
    """What an import did. `errors` is `[(line_no, reason)]` in English, sorted by line;
    `problems` carries the same as `(line_no, FieldError)` for translation."""

    travellers_created: int = 0
    travellers_updated: int = 0
    travellers_unchanged: int = 0
    stops: int = 0
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    problems: list[tuple[int, FieldError]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Group:
    """All rows of one external_id."""

    external_id: str
    first_line: int
    personal: tuple | None = None
    personal_line: int = 0
    stops: list[tuple] = field(default_factory=list)  # comparable stop tuples
    bad_line: int | None = None
    lines: list[int] = field(default_factory=list)


def _reason(err: FieldError) -> str:
    return f"{err.field}: {err.render()}"


class _Cached:
    """Memoise a validator, remembering failures too (same input, same error)."""

    def __init__(self, check: Callable, **kwargs: Any) -> None:
        self.check = check
        self.kwargs = kwargs
        self.memo: dict[Any, Any] = {}

    def __call__(self, raw: Any) -> Any:
        try:
            result = self.memo[raw]
        except KeyError:
            try:
                result = self.check(raw, **self.kwargs)
            except ValidationFailed as exc:
                result = exc
            self.memo[raw] = result
        if isinstance(result, ValidationFailed):
            raise result
        return result


class _RowChecker:
    """Turns one CSV row into (external_id, personal tuple, stop tuple) or errors."""

    def __init__(self) -> None:
        self.given = _Cached(normalise_name, field="given_name")
        self.family = _Cached(normalise_name, field="family_name")
        self.email = _Cached(normalise_email, field="email")
        self.phone = _Cached(normalise_phone, field="phone")
        self.language = _Cached(normalise_language, field="language")
        self.country = _Cached(normalise_country, field="country")
        self.place = _Cached(normalise_place, field="place")
        self.arrival = _Cached(parse_date, field="arrival")
        self.departure = _Cached(parse_date, field="departure", required=False)
        self.lat = _Cached(parse_lat, field="lat")
        self.lon = _Cached(parse_lon, field="lon")
        self.places: dict[tuple[str, str], Any] = {}

    def resolve(self, country: str, place: str):
        key = (country, place.casefold())
        if key not in self.places:
            self.places[key] = gazetteer.resolve_place(country, place)
        return self.places[key]

    def check(self, row: dict[str, str]) -> tuple[str, tuple, tuple]:
        errors: list[FieldError] = []

        def run(check, raw):
            try:
                return check(raw)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
                return None

        external_id = row["external_id"].strip()
        if not external_id:
            errors.append(FieldError("external_id", N_("This field is required.")))
        elif len(external_id) > MAX_EXTERNAL_ID_LENGTH:
            errors.append(FieldError("external_id", N_("At most %(max)d characters."),
                                     {"max": MAX_EXTERNAL_ID_LENGTH}))
        given = run(self.given, row["given_name"])
        family = run(self.family, row["family_name"])
        language = run(self.language, row["language"])
        raw_email, raw_phone = row["email"].strip(), row["phone"].strip()
        email = run(self.email, raw_email) if raw_email else None
        phone = run(self.phone, raw_phone) if raw_phone else None
        if not raw_email and not raw_phone:
            errors.append(FieldError("email", N_(
                "Give an email address or a mobile number so we can reach you.")))

        country = run(self.country, row["country"])
        place = run(self.place, row["place"])
        lat = run(self.lat, row["lat"])
        lon = run(self.lon, row["lon"])
        arrival = run(self.arrival, row["arrival"])
        departure = run(self.departure, row["departure"])
        if arrival and departure:
            try:
                check_window(arrival, departure)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        lat_given, lon_given = bool(row["lat"].strip()), bool(row["lon"].strip())
        if lat_given != lon_given:
            errors.append(FieldError("lon" if lat_given else "lat",
                                     N_("Give both latitude and longitude, or neither.")))
        precision = "country"
        if lat is not None and lon is not None:
            precision = "point"
        elif place and country and not (lat_given or lon_given):
            found = self.resolve(country, place)
            if found is None:
                errors.append(FieldError(
                    "place", N_("We could not find %(place)s in %(country)s."),
                    {"place": place, "country": countries.country_name(country, "en") or country,
                     "country_code": country}))
            else:
                precision, lat, lon, place = "city", float(found.lat), float(found.lon), found.name
        if errors:
            raise ValidationFailed(errors)
        if precision == "country":
            place = None
        personal = (given, family, email, phone, language)
        stop = (country, place, lat, lon, precision, arrival, departure)
        return external_id, personal, stop


def _rows(fileobj: TextIO, report: ImportReport,
          progress: Callable[[int], None] | None) -> Iterable[tuple[int, dict[str, str] | None, str, int]]:
    """Check the header, then yield `(line_no, row, external_id, field_count)` for each
    non-blank data row; `row` is None when the row has the wrong number of fields."""
    consumed = [0]  # bytes read since the last progress call

    def counting(lines):
        for text in lines:
            consumed[0] += len(text.encode("utf-8"))
            yield text

    def report_progress():
        if progress and consumed[0]:
            progress(consumed[0])
            consumed[0] = 0

    reader = csv.reader(counting(fileobj))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(N_("The file is empty; it needs a header line with the columns %(columns)s."),
                              columns=",".join(COLUMNS)) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportFileError(N_("The file is not readable CSV text (%(detail)s)."), detail=str(exc)) from None
    names = [h.strip().lstrip("\ufeff").strip().lower() for h in header]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    missing = [c for c in COLUMNS if c not in names]
    extra = [n for n in names if n not in COLUMNS]
    expected = ",".join(COLUMNS)
    if missing and extra:
        raise ImportFileError(N_("The header line does not match: missing %(missing)s; unexpected "
                                 "%(extra)s. Expected the columns %(expected)s."),
                              missing=",".join(missing), extra=",".join(n or "(blank)" for n in extra),
                              expected=expected)
    if missing:
        raise ImportFileError(N_("Column(s) missing from the header line: %(missing)s. Expected the "
                                 "columns %(expected)s."), missing=",".join(missing), expected=expected)
    if extra:
        raise ImportFileError(N_("Unexpected column(s) in the header line: %(extra)s. Expected the "
                                 "columns %(expected)s."),
                              extra=",".join(n or "(blank)" for n in extra), expected=expected)
    if duplicated:
        raise ImportFileError(N_("Column(s) repeated in the header line: %(duplicated)s."),
                              duplicated=",".join(duplicated))
    width = len(names)
    ext_index = names.index("external_id")
    last_line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            report_progress()
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFileError(N_("Line %(line)s is not readable CSV (%(detail)s); nothing was imported."),
                                  line=last_line + 1, detail=str(exc)) from None
        line, last_line = last_line + 1, reader.line_num
        if consumed[0] >= PROGRESS_BYTES:
            report_progress()
        if not values or all(not v.strip() for v in values):
            continue  # blank lines are not rows
        report.rows += 1
        raw_ext = values[ext_index].strip() if len(values) > ext_index else ""
        if len(values) != width:
            yield line, None, raw_ext, len(values)
            continue
        yield line, dict(zip(names, values)), raw_ext, width


def import_csv(session: Session, fileobj: TextIO,
               progress: Callable[[int], None] | None = None,
               partner_id: int | None = None) -> ImportReport:
    """Import travellers from an open text file; see the module docstring for the contract.

    `partner_id` scopes the import to one partner's records: `external_id` is matched (and
    unique) only among that partner's travellers, and new travellers belong to it. None is
    the public registry (the CLI without --partner).

    Raises `ImportFileError` (nothing imported) when the header is wrong or the file is not
    CSV. `progress(n)` is called as the file is read with the number of bytes read since the
    previous call (so `click.progressbar(length=file_size).update` fits). Does not commit.
    """
    report = ImportReport()
    checker = _RowChecker()
    groups: dict[str, _Group] = {}
    row_errors: dict[int, str] = {}

    def fail(line: int, err: FieldError) -> None:
        report.problems.append((line, err))
        row_errors[line] = "; ".join(filter(None, [row_errors.get(line), _reason(err)]))

    def condemn(ext: str, line: int) -> None:
        """A bad row keeps the rest of its traveller out too."""
        if ext:
            group = groups.setdefault(ext, _Group(ext, line))
            group.bad_line = group.bad_line or line

    for line, row, raw_ext, found in _rows(fileobj, report, progress):
        if row is None:
            fail(line, FieldError("row", N_("Expected %(expected)d fields, found %(found)d."),
                                  {"expected": len(COLUMNS), "found": found}))
            condemn(raw_ext, line)
            continue
        try:
            ext, personal, stop = checker.check(row)
        except ValidationFailed as exc:
            for err in exc.errors:
                fail(line, err)
            condemn(raw_ext, line)
            continue
        group = groups.setdefault(ext, _Group(ext, line))
        if group.personal is None:
            group.personal, group.personal_line = personal, line
        elif personal != group.personal:
            differing = [name for name, a, b in zip(PERSONAL, personal, group.personal) if a != b]
            fail(line, FieldError(differing[0], N_(
                "%(columns)s differ from line %(other)s for the same external_id %(external_id)s."),
                {"columns": ",".join(differing), "other": group.personal_line,
                 "external_id": ext}))
            condemn(ext, line)
            continue
        group.lines.append(line)
        group.stops.append(stop)
    good: list[_Group] = []
    for group in groups.values():
        if group.bad_line is None:
            good.append(group)
            continue
        for line in group.lines:
            if line not in row_errors:
                fail(line, FieldError("external_id", N_(
                    "Skipped: line %(line)s of the same traveller (%(external_id)s) has an error."),
                    {"line": group.bad_line, "external_id": group.external_id}))
    report.problems.sort(key=lambda p: p[0])
    report.errors = sorted(row_errors.items())
    if good:
        _write(session, good, report, partner_id)
    return report


def _stop_key(stop: tuple) -> tuple:
    country, place, lat, lon, precision, arrival, departure = stop
    return (arrival, departure or arrival, country, place or "", lat or 0.0, lon or 0.0,
            precision, departure is None)


def _write(session: Session, groups: list[_Group], report: ImportReport,
           partner_id: int | None = None) -> None:
    """Upsert the good travellers and their imported trip in the caller's transaction."""
    now = utcnow()
    same_owner = _T.c.partner_id.is_(None) if partner_id is None else _T.c.partner_id == partner_id
    by_ext = {g.external_id: g for g in groups}
    for g in groups:
        g.stops.sort(key=_stop_key)

    member, in_chunk = membership(session)
    existing: dict[str, tuple] = {}  # external_id -> (id, personal)
    for chunk in chunks(list(by_ext), in_chunk):
        for r in session.execute(
            select(_T.c.id, _T.c.external_id, _T.c.given_name, _T.c.family_name, _T.c.email,
                   _T.c.phone, _T.c.language).where(member(_T.c.external_id, chunk), same_owner)
        ):
            existing[r.external_id] = (r.id, tuple(r[2:]))

    trip_of: dict[int, int] = {}            # traveller id -> imported trip id
    old_stops: dict[int, list[tuple]] = {}  # trip id -> stops
    ids = [v[0] for v in existing.values()]
    for chunk in chunks(ids, in_chunk):
        for r in session.execute(
            select(_TRIP.c.id, _TRIP.c.traveller_id)
            .where(member(_TRIP.c.traveller_id, chunk), _TRIP.c.purpose == IMPORT_TRIP_PURPOSE)
            .order_by(_TRIP.c.id)
        ):
            trip_of.setdefault(r.traveller_id, r.id)
    trip_ids = list(trip_of.values())
    for chunk in chunks(trip_ids, in_chunk):
        for r in session.execute(
            select(_STOP.c.trip_id, _STOP.c.country, _STOP.c.place, _STOP.c.lat, _STOP.c.lon,
                   _STOP.c.precision, _STOP.c.arrival, _STOP.c.departure)
            .where(member(_STOP.c.trip_id, chunk))
        ):
            old_stops.setdefault(r.trip_id, []).append(tuple(r[1:]))

    new_rows: list[dict] = []
    updates: list[dict] = []
    need_trip: list[int] = []          # traveller ids needing an imported trip
    replace_trips: list[int] = []      # trip ids whose stops are replaced
    stops_for: dict[int, list[tuple]] = {}  # traveller id -> stops to insert
    for ext, g in by_ext.items():
        given, family, email, phone, language = g.personal
        if ext not in existing:
            new_rows.append({"external_id": ext, "given_name": given, "family_name": family,
                             "email": email, "phone": phone, "language": language,
                             "source": SOURCE, "consent_at": now, "created_at": now,
                             "updated_at": now, "partner_id": partner_id})
            continue
        tid, old_personal = existing[ext]
        changed = False
        if old_personal != g.personal:
            updates.append({"_id": tid, "given_name": given, "family_name": family,
                            "email": email, "phone": phone, "language": language,
                            "updated_at": now})
            changed = True
        trip_id = trip_of.get(tid)
        if trip_id is None:
            need_trip.append(tid)
            stops_for[tid] = g.stops
            changed = True
        elif sorted(old_stops.get(trip_id, []), key=_stop_key) != g.stops:
            replace_trips.append(trip_id)
            stops_for[tid] = g.stops
            changed = True
        if changed:
            report.travellers_updated += 1
        else:
            report.travellers_unchanged += 1

    for tid, ext in insert_returning(session, _T, new_rows, "external_id"):
        need_trip.append(tid)
        stops_for[tid] = by_ext[ext].stops
    report.travellers_created = len(new_rows)

    if updates:
        stmt = (update(_T).where(_T.c.id == bindparam("_id"))
                .values(given_name=bindparam("given_name"), family_name=bindparam("family_name"),
                        email=bindparam("email"), phone=bindparam("phone"),
                        language=bindparam("language"), updated_at=bindparam("updated_at")))
        for chunk in chunks(updates, CHUNK):
            session.connection().execute(stmt, chunk)

    for chunk in chunks(replace_trips, in_chunk):
        session.execute(delete(_STOP).where(member(_STOP.c.trip_id, chunk)))
    trip_ids_by_traveller = {tid: trip_of[tid] for tid in stops_for if tid in trip_of}
    trip_rows = [{"traveller_id": tid, "purpose": IMPORT_TRIP_PURPOSE, "created_at": now} for tid in need_trip]
    for trip_id, tid in insert_returning(session, _TRIP, trip_rows, "traveller_id"):
        trip_ids_by_traveller[tid] = trip_id

    stop_rows = [
        {"trip_id": trip_ids_by_traveller[tid], "traveller_id": tid, "country": s[0],
         "place": s[1], "lat": s[2], "lon": s[3], "precision": s[4], "arrival": s[5],
         "departure": s[6]}
        for tid, stops in stops_for.items() for s in stops
    ]
    insert_rows(session, _STOP, stop_rows)
    report.stops = len(stop_rows)
    session.flush()

