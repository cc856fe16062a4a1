"""The `emergency` command: a Flask CLI group (run, worker, cron, db, seed, import, affected).

Commands that change data print what they did; bad input exits non-zero with a message
saying what was wrong, and changes nothing.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .database import db_session, engine


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, load_dotenv=False)
def main():
    """Consular emergency response: console, workers and registry tools."""


# --- database ---------------------------------------------------------------------------

@click.group("db")
def db_group():
    """Database schema (Alembic)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str):
    """Bring DATABASE_URL to the current schema; safe to repeat."""
    from .migrate import current, upgrade

    upgrade(engine(), revision)
    click.echo(f"Database at revision {current(engine())}.")


# --- jobs -------------------------------------------------------------------------------

@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in the worker process (no fork per job).")
@click.option("--queues", "queue_names", default=None, metavar="NAMES",
              help="Comma-separated queues to listen to, in priority order (default: alerts,default). "
                   "`--queues alerts` reserves this worker for emergency alerts.")
@with_appcontext
def worker(burst: bool, simple: bool, queue_names: str | None):
    """An RQ worker for the alert and default queues (alerts first)."""
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker

    from .jobs import QUEUES

    url = current_app.config["REDIS_URL"]
    if not url:
        raise click.UsageError("REDIS_URL is not set: without Redis, jobs run inside the web process.")
    names = list(QUEUES)
    if queue_names is not None:
        names = [n.strip() for n in queue_names.split(",") if n.strip()]
        unknown = [n for n in names if n not in QUEUES]
        if unknown or not names:
            raise click.BadParameter(
                f"unknown queue {', '.join(unknown) or '(none)'}; choose from {', '.join(QUEUES)}",
                param_hint="--queues")
        names = [n for n in QUEUES if n in names]  # alerts always first
    connection = Redis.from_url(url)
    cls = SimpleWorker if simple else Worker
    queues = [Queue(name, connection=connection) for name in names]
    from .worker_heap import settle_heap

    settle_heap()  # full collections would walk the whole application during every job
    cls(queues, connection=connection).work(burst=burst, with_scheduler=True)


@click.command("cron")
@with_appcontext
def cron():
    """RQ's cron scheduler: periodic jobs (re-queueing delivery batches a lost job left behind)."""
    from redis import Redis
    from rq.cron import CronScheduler

    from . import tasks

    url = current_app.config["REDIS_URL"]
    if not url:
        raise click.UsageError("REDIS_URL is not set: the cron scheduler needs Redis.")
    scheduler = CronScheduler(connection=Redis.from_url(url))
    scheduler.register(tasks.sweep_deliveries, queue_name="alerts", interval=60)
    from .privacy import purge_old_records  # issue 3B: privacy by default, daily at 03:17 UTC

    scheduler.register(purge_old_records, queue_name="default", cron="17 3 * * *")
    scheduler.start()


# --- registry ---------------------------------------------------------------------------

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
    from registry.importer import ImportFileError as ImportFailed, import_csv

    from .cli_registry import partner_id_by_name

    partner_id = partner_id_by_name(partner_name)

    size = os.path.getsize(path)
    with open(path, encoding="utf-8-sig", newline="") as fh, \
            click.progressbar(length=size, label="Importing", file=sys.stderr) as bar:
        try:
            report = import_csv(db_session(), fh, progress=bar.update, partner_id=partner_id)
        except ImportFailed as err:
            db_session().rollback()
            raise click.ClickException(str(err)) from None
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
    from geo.errors import GeoError
    from geo.zones import parse_zone_argument
    from registry.affected import external_ids, find_affected

    from .incidents import WindowError, parse_window

    try:
        parsed = parse_zone_argument(zone)
        start, end = parse_window(at, until or at)
    except (GeoError, WindowError) as err:
        raise click.ClickException(str(err)) from None
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
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(records[0]) if records else
                                ["external_id", "traveller_id", "precision", "located_by", "country", "place",
                                 "lat", "lon", "distance_km", "stop_id"])
        writer.writeheader()
        writer.writerows(records)
        click.echo(out.getvalue(), nl=False)
    else:
        features = [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]} if r["lat"] is not None else None,
            "properties": r,
        } for r in records]
        click.echo(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    click.echo(f"{len(records)} travellers affected.", err=True)


# --- users and the demo -----------------------------------------------------------------

@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["partner", "viewer", "coordinator", "approver", "admin"]), required=True)
@click.option("--partner", "partner_name", default=None, help="The partner of a --role partner user.")
@click.option("--language", type=click.Choice(["en", "fr"]), default="en")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--api-token", is_flag=True, help="Also issue an API token (printed once).")
@with_appcontext
def create_user_command(email, name, role, partner_name, language, password, api_token):
    """Create a console user (or, with --role partner --partner NAME, a partner's API user)."""
    from .auth import create_user, issue_api_token
    from .cli_registry import partner_id_by_name

    if (role == "partner") != (partner_name is not None):
        raise click.UsageError("--partner NAME is required with --role partner, and only with it.")
    partner_id = partner_id_by_name(partner_name)
    user = create_user(email, name, role, password, language)
    user.partner_id = partner_id
    token = issue_api_token(user) if api_token else None
    db_session().commit()
    click.echo(f"Created {role} {user.email}.")
    if token:
        click.echo(f"API token (shown once): {token}")


@click.command("demo")
@click.option("--travellers", "count", type=int, default=20000, show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@with_appcontext
def demo(count: int, port: int):
    """Prepare a demo registry on the embedded defaults, print the logins, run the console."""
    from .demo import prepare_demo

    logins = prepare_demo(count)
    click.echo("")
    click.echo("Consular Emergency Response - demo / démonstration")
    click.echo(f"  Console:  http://127.0.0.1:{port}/")
    click.echo(f"  Register: http://127.0.0.1:{port}/register")
    for role, email, password in logins:
        click.echo(f"  {role:<12} {email}  password / mot de passe: {password}")
    click.echo("")
    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True, use_reloader=False)


def init_app(app: Flask) -> None:
    for command in (db_group, worker, cron, seed, import_travellers, affected, create_user_command, demo):
        app.cli.add_command(command)
    from .cli_registry import COMMANDS as registry_commands  # issue 3B: partners, purge

    for command in registry_commands:
        app.cli.add_command(command)


if __name__ == "__main__":
    main()
