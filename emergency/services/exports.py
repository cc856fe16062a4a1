"""Exports of an incident's affected set: CSV, GeoJSON and GeoPackage, with a field choice.

Lists go to partners (an airline, a host government, a school), so they carry only what
the partner needs: the user picks the fields, and contact details (email, phones,
companions' contacts) come only for roles that may see them (coordinator and above;
viewers and partners never). Every export is audited — who, which incident, which
fields, how many rows — and the audit entry itself holds no personal data.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass

from sqlalchemy import select

from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import Incident, IncidentZone
from emergency.services.errors import ServiceError
from registry.models import Companion, Traveller

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
}

# name -> (English label marked for translation, is a contact detail)
FIELDS: dict[str, tuple[str, bool]] = {}


def _field(name: str, label: str, contact: bool = False) -> None:
    FIELDS[name] = (label, contact)


_field("traveller_id", N_("Traveller number"))
_field("external_id", N_("External reference"))
_field("given_name", N_("Given name"))
_field("family_name", N_("Family name"))
_field("language", N_("Language"))
_field("country", N_("Country code"))
_field("country_name", N_("Country"))
_field("place", N_("Place"))
_field("precision", N_("Precision"))
_field("located_by", N_("Located by (point, city or country)"))
_field("possibly_affected", N_("Possibly affected (country only)"))
_field("lat", N_("Latitude"))
_field("lon", N_("Longitude"))
_field("distance_km", N_("Distance from the centre (km)"))
_field("zone_severity", N_("Zone severity"))
_field("zone_label", N_("Zone"))
_field("companions", N_("Number of companions"))
_field("companion_names", N_("Companions (names and ages)"))
_field("answer", N_("Answer to the safety check"))
_field("companion_answers", N_("Companions' answers (own, given for them, or covered by the traveller's)"))
_field("email", N_("Email"), contact=True)
_field("phone", N_("Phone"), contact=True)
_field("phone2", N_("Second phone"), contact=True)
_field("companion_contacts", N_("Companions' contact details"), contact=True)

CONTACT_FIELDS = tuple(name for name, (_label, contact) in FIELDS.items() if contact)
DEFAULT_FIELDS = ("traveller_id", "external_id", "given_name", "family_name", "language", "country",
                  "place", "precision", "lat", "lon", "distance_km", "zone_severity", "zone_label",
                  "companions", "answer")


class ExportError(ServiceError):
    """A refused export; `.status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, **params):
        super().__init__(message, **params)
        self.status = status


@dataclass
class ExportFile:
    content: bytes
    mimetype: str
    filename: str
    rows: int


def may_export_contacts(user) -> bool:
    """Coordinators and above; viewers, partners and anonymous callers never."""
    return bool(user is not None and getattr(user, "active", False) and user.has_role("coordinator"))


def parse_fields(values) -> list[str]:
    """Fields from `fields=a,b` and/or repeated `fields=a&fields=b`; default set when none."""
    if isinstance(values, str):
        values = [values]
    names: list[str] = []
    for value in values or []:
        for name in str(value).split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    if not names:
        return list(DEFAULT_FIELDS)
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise ExportError(N_("Unknown field(s): %(fields)s. Choose from: %(choices)s."),
                          fields=", ".join(unknown[:10]), choices=", ".join(FIELDS))
    return names


def check_format(fmt: str | None) -> str:
    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise ExportError(N_("Unknown export format %(format)s: choose csv, geojson or gpkg."),
                          format=fmt or "—")
    return fmt


def check_allowed(fields: list[str], user) -> None:
    """Contact fields need the coordinator role: a 403 that says which fields were refused."""
    asked = [f for f in fields if FIELDS[f][1]]
    if asked and not may_export_contacts(user):
        raise ExportError(N_("Your role does not allow exporting contact details (%(fields)s). "
                             "Leave them out, or ask a coordinator."), status=403, fields=", ".join(asked))


# --------------------------------------------------------------------------- rows


def build_rows(incident: Incident, fields: list[str], lang: str = "en") -> list[dict]:
    """The affected set as flat rows holding only `fields`, in the affected set's order."""
    from emergency.services import incidents
    from emergency.services.dashboard import latest_responses
    from emergency.services.zones import zone_label

    affected = incidents.affected_for(incident)
    described = incidents.describe_rows(affected, lang)
    ids = [r["traveller_id"] for r in described]
    session = db_session()

    people: dict[int, dict] = {}
    wanted = [Traveller.id, Traveller.given_name, Traveller.family_name]
    for name in ("email", "phone", "phone2"):
        if name in fields:
            wanted.append(getattr(Traveller, name))
    for start in range(0, len(ids), 900):
        for row in session.execute(select(*wanted).where(Traveller.id.in_(ids[start:start + 900]))):
            people[row.id] = row._asdict()

    companions = _companions(ids) if {"companion_names", "companion_contacts"} & set(fields) else {}
    household_answers: dict[int, str] = {}
    if "companion_answers" in fields:
        from emergency.services.households import households

        for traveller_id, members in households(incident.id, ids).items():
            household_answers[traveller_id] = "; ".join(f"{p.name}: {p.status or 'no_answer'}" for p in members[1:])
    answers = {}
    if "answer" in fields:
        latest = latest_responses(incident.id)
        answers = dict(session.execute(select(latest.c.traveller_id, latest.c.status)).all())
    zones = {z.id: z for z in session.scalars(select(IncidentZone).where(IncidentZone.incident_id == incident.id))}

    rows = []
    for r in described:
        person = people.get(r["traveller_id"], {})
        zone = zones.get(r["zone_id"])
        every = {
            "traveller_id": r["traveller_id"], "external_id": r["external_id"],
            "given_name": person.get("given_name"), "family_name": person.get("family_name"),
            "language": r["language"], "country": r["country"], "country_name": r["country_name"],
            "place": r["place"], "precision": r["precision"], "located_by": r["located_by"],
            "possibly_affected": r["possibly"], "lat": r["lat"], "lon": r["lon"],
            "distance_km": r["distance_km"], "zone_severity": r["severity"],
            "zone_label": zone_label(zone, lang) if zone is not None else None,
            "companions": r["companions"],
            "companion_names": "; ".join(c["name"] for c in companions.get(r["traveller_id"], [])),
            "companion_contacts": "; ".join(c["contact"] for c in companions.get(r["traveller_id"], [])
                                            if c["contact"]),
            "answer": answers.get(r["traveller_id"]) or "no_answer",
            "companion_answers": household_answers.get(r["traveller_id"], ""),
            "email": person.get("email"), "phone": person.get("phone"), "phone2": person.get("phone2"),
        }
        rows.append({name: every[name] for name in fields})
    return rows


def _companions(ids: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {}
    session = db_session()
    for start in range(0, len(ids), 900):
        for c in session.scalars(select(Companion).where(Companion.traveller_id.in_(ids[start:start + 900]))
                                 .order_by(Companion.id)):
            name = f"{c.given_name} {c.family_name}".strip()
            age = c.age_band
            contact = ", ".join(v for v in (c.email, c.phone) if v)
            found.setdefault(c.traveller_id, []).append({
                "name": f"{name} ({age})" if age else name,
                "contact": f"{name}: {contact}" if contact else "",
            })
    return found


# --------------------------------------------------------------------------- formats


# A spreadsheet reads a cell that starts with one of these as a formula, which can fetch
# URLs, read other cells or run commands (CSV injection). OWASP's defence: start the cell
# with a single quote, so it is shown as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A cell that is only a number (a negative coordinate, a phone number in E.164) is left as
# it is: a spreadsheet reads it as that number, and no formula can hide in it.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def csv_cell(value):
    """A value as one CSV cell: None is empty, text that a spreadsheet would run as a
    formula is quoted with a leading ', anything else is itself."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def to_csv(rows: list[dict], fields: list[str]) -> bytes:
    """Rows as CSV (UTF-8, CRLF), every cell through `csv_cell`: this is the CSV writer of
    every export, in the console, the API and the command line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return out.getvalue().encode("utf-8")


def _point(row_lat, row_lon):
    if row_lat is None or row_lon is None:
        return None
    return {"type": "Point", "coordinates": [float(row_lon), float(row_lat)]}


def to_geojson(rows: list[dict], fields: list[str], coords: list[tuple]) -> bytes:
    features = [{"type": "Feature", "geometry": _point(lat, lon), "properties": row}
                for row, (lat, lon) in zip(rows, coords)]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, default=str).encode("utf-8")


def to_gpkg(rows: list[dict], fields: list[str], coords: list[tuple]) -> bytes:
    """A GeoPackage layer `affected` (points; country-only rows have no geometry)."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    frame = pd.DataFrame(rows, columns=fields)
    for name in frame.columns:  # GeoPackage columns need one type: text unless numeric
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: None if v is None else str(v))
    geometry = [None if lat is None or lon is None else Point(float(lon), float(lat)) for lat, lon in coords]
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326")
    handle, path = tempfile.mkstemp(suffix=".gpkg")
    os.close(handle)
    os.unlink(path)
    try:
        gdf.to_file(path, driver="GPKG", layer="affected", engine="pyogrio", geometry_type="Point")
        with open(path, "rb") as f:
            return f.read()
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)


def export(incident: Incident, fmt: str, fields, user, lang: str = "en") -> ExportFile:
    """Check, build, write and audit one export (commits the audit entry)."""
    fmt = check_format(fmt)
    fields = parse_fields(fields)
    check_allowed(fields, user)
    full = build_rows(incident, list(dict.fromkeys([*fields, "lat", "lon"])), lang)
    coords = [(r["lat"], r["lon"]) for r in full]
    rows = [{name: r[name] for name in fields} for r in full]
    if fmt == "csv":
        content = to_csv(rows, fields)
    elif fmt == "geojson":
        content = to_geojson(rows, fields, coords)
    else:
        content = to_gpkg(rows, fields, coords)
    mimetype, ext = FORMATS[fmt]
    audit.record("incident.exported", "incident", incident.id, format=fmt, fields=fields, rows=len(rows),
                 contacts=any(FIELDS[f][1] for f in fields))
    db_session().commit()
    return ExportFile(content=content, mimetype=mimetype, filename=f"incident-{incident.id}-affected.{ext}",
                      rows=len(rows))
