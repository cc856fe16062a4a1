"""Registry commands: `seed` a synthetic registry, `import-travellers` from CSV, and who is
`affected` by a zone in a time window."""
from __future__ import annotations

import json
import os
import sys

import click
from flask.cli import with_appcontext

from emergency.cli.errors import failed
from emergency.cli.partners import partner_id_by_name
from emergency.core.database import db_session


@click.command("seed")
@click.option("--travellers", "count", type=click.IntRange(1, 5_000_000), required=True,
              help="How many synthetic travellers to create.")
@click.option("--seed", "rng_seed", type=int, default=42, show_default=True, help="Random seed.")
@with_appcontext
def seed(count: int, rng_seed: int):
    """Create a synthetic but realistic registry (demos and benchmarks)."""
    from registry.seed import seed as run_seed

    with click.progressbar(length=count, label="Seeding travellers", file=sys.stderr) as bar:
        created = run_seed(db_session(), count, progress=bar.update, rng_seed=rng_seed)
    db_session().commit()
    click.echo(f"Created {created} travellers.")


@click.command("import-travellers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--partner", "partner_name", default=None,
              help="Import as this partner's travellers (external_id unique per partner).")
@with_appcontext
def import_travellers(path: str, partner_name: str | None):
    """Bulk import travellers from CSV (one row per stop; see README)."""
    from registry.importer import ImportFileError as ImportFailed
    from registry.importer import import_csv

    partner_id = partner_id_by_name(partner_name)

    size = os.path.getsize(path)
    with open(path, encoding="utf-8-sig", newline="") as fh, \
            click.progressbar(length=size, label="Importing", file=sys.stderr) as bar:
        try:
            report = import_csv(db_session(), fh, progress=bar.update, partner_id=partner_id)
        except ImportFailed as err:
            db_session().rollback()
            raise failed(err) from None
    db_session().commit()
    click.echo(f"Travellers created: {report.travellers_created}, updated: {report.travellers_updated}, "
               f"stops: {report.stops}, rows with errors: {len(report.errors)}.")
    for line, reason in report.errors:
        click.echo(f"line {line}: {reason}", err=True)
    if report.errors:
        sys.exit(1)


@click.command("affected")
@click.argument("zone")
@click.option("--at", "at", required=True, help="Start of the window (ISO 8601).")
@click.option("--until", "until", default=None, help="End of the window (ISO 8601); default: the same instant.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "geojson"]), default="json", show_default=True)
@with_appcontext
def affected(zone: str, at: str, until: str | None, fmt: str):
    """Who is in ZONE (GeoJSON file or circle:LAT,LON,RADIUS_KM) during the window."""
    from emergency.services.incidents import WindowError, parse_window
    from geo.errors import GeoError
    from geo.sources import parse_zone_argument
    from registry.affected import external_ids, find_affected

    try:
        parsed = parse_zone_argument(zone)
        start, end = parse_window(at, until or at)
    except (GeoError, WindowError) as err:
        raise failed(err) from None
    if parsed.note:
        click.echo(parsed.note, err=True)
    rows = find_affected(db_session(), parsed, start, end)
    references = external_ids(db_session(), (r.traveller_id for r in rows))
    records = [{
        "external_id": references.get(r.traveller_id), "traveller_id": r.traveller_id, "precision": r.precision,
        "located_by": r.located_by, "country": r.country, "place": r.place, "lat": r.lat, "lon": r.lon,
        "distance_km": None if r.distance_km is None else round(float(r.distance_km), 3), "stop_id": r.stop_id,
    } for r in rows]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=1))
    elif fmt == "csv":
        from emergency.services.exports import to_csv

        fields = list(records[0]) if records else ["external_id", "traveller_id", "precision", "located_by",
                                                   "country", "place", "lat", "lon", "distance_km", "stop_id"]
        click.echo(to_csv(records, fields).decode("utf-8"), nl=False)
    else:
        features = [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]} if r["lat"] is not None else None,
            "properties": r,
        } for r in records]
        click.echo(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    click.echo(f"{len(records)} travellers affected.", err=True)


COMMANDS = (seed, import_travellers, affected)
