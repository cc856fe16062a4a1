"""Commands that run the system: `db upgrade`, `worker` (RQ) and `cron` (RQ's cron scheduler)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from emergency.cli.errors import N_, fail
from emergency.core.database import engine


@click.group("db")
def db_group():
    """Database schema (Alembic)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str):
    """Bring DATABASE_URL to the current schema; safe to repeat."""
    from emergency.core.migrate import current, upgrade

    upgrade(engine(), revision)
    click.echo(f"Database at revision {current(engine())}.")


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
    from rq import Queue

    from emergency.jobs.runner import QUEUES
    from emergency.jobs.worker import EmergencySimpleWorker, EmergencyWorker

    url = current_app.config["REDIS_URL"]
    if not url:
        raise fail(N_("REDIS_URL is not set: without Redis, jobs run inside the web process."))
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
    cls = EmergencySimpleWorker if simple else EmergencyWorker
    queues = [Queue(name, connection=connection) for name in names]
    from emergency.jobs.worker_heap import settle_heap

    settle_heap()  # full collections would walk the whole application during every job
    cls(queues, connection=connection).work(burst=burst, with_scheduler=True)


@click.command("cron")
@with_appcontext
def cron():
    """RQ's cron scheduler: periodic jobs (re-queueing delivery batches a lost job left behind,
    follow-up rounds whose scheduled job was lost, polling hazard feeds)."""
    from redis import Redis
    from rq.cron import CronScheduler

    from emergency.jobs import fanout, feeds, followup, maintenance

    url = current_app.config["REDIS_URL"]
    if not url:
        raise fail(N_("REDIS_URL is not set: the cron scheduler needs Redis."))
    scheduler = CronScheduler(connection=Redis.from_url(url))
    scheduler.register(fanout.sweep_deliveries, queue_name="alerts", interval=60)
    scheduler.register(followup.sweep_due, queue_name="alerts", interval=60)
    scheduler.register(maintenance.purge_old_records, queue_name="default", cron="17 3 * * *")
    # Hazard feeds on the alerts queue: a new earthquake must not wait behind routine mail.
    scheduler.register(feeds.poll_all, queue_name="alerts", interval=current_app.config["FEED_POLL_SECONDS"])
    scheduler.start()


COMMANDS = (db_group, worker, cron)
