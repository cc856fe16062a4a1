"""`create-user`: console users, and partners' API users."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from emergency.cli.errors import N_, fail
from emergency.cli.partners import partner_id_by_name
from emergency.core.auth import create_user, issue_api_token
from emergency.core.database import db_session


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
    if (role == "partner") != (partner_name is not None):
        raise fail(N_("--partner NAME is required with --role partner, and only with it."))
    partner_id = partner_id_by_name(partner_name)
    user = create_user(email, name, role, password, language)
    user.partner_id = partner_id
    token = issue_api_token(user) if api_token else None
    db_session().commit()
    click.echo(f"Created {role} {user.email}.")
    if token:
        click.echo(f"API token (shown once): {token}")


COMMANDS = (create_user_command,)
