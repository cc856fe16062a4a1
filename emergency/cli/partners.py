"""Partners and privacy: `emergency create-partner NAME` and `emergency purge [--dry-run]`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from emergency.cli.errors import N_, fail, failed
from emergency.core.database import db_session


def partner_id_by_name(name: str | None) -> int | None:
    """The id of the partner called `name` (None for None); an error if there is none."""
    if name is None:
        return None
    from registry.partners import find_partner

    partner = find_partner(db_session(), name)
    if partner is None:
        raise fail(N_("No partner named %(name)s; create it with `emergency create-partner`."), name=name)
    return partner.id


@click.command("create-partner")
@click.argument("name")
@with_appcontext
def create_partner_command(name: str):
    """Create a partner (tour operator, school, agency) whose users import their own travellers."""
    from emergency.core import audit
    from registry.partners import PartnerError, create_partner

    try:
        partner = create_partner(db_session(), name)
    except PartnerError as err:
        db_session().rollback()
        raise failed(err) from None
    audit.record("partner.created", "partner", partner.id)
    db_session().commit()
    click.echo(f"Created partner {partner.name} (id {partner.id}).")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--after-days", type=click.IntRange(0), default=None,
              help="Override PURGE_AFTER_DAYS for this run.")
@with_appcontext
def purge_command(dry_run: bool, after_days: int | None):
    """Delete travellers whose last stop ended more than PURGE_AFTER_DAYS days ago."""
    from emergency.services.privacy import purge_old_records

    report = purge_old_records(dry_run=dry_run, after_days=after_days)
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} {report.travellers} travellers and {report.stops} stops "
               f"(last stop ended before {report.cutoff.isoformat()}, {report.after_days} days).")


COMMANDS = (create_partner_command, purge_command)
