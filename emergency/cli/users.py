"""`create-user`: console users, and partners' API users; `set-on-call`: the on-call list."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from emergency.cli.errors import N_, fail, failed
from emergency.cli.partners import partner_id_by_name
from emergency.core.auth import create_user, issue_api_token
from emergency.core.database import db_session
from emergency.core.models import User
from emergency.services import staff_notifications


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


@click.command("set-on-call")
@click.argument("email")
@click.option("--on/--off", "on_call", default=None, help="Put the user on call, or take them off.")
@click.option("--phone", default=None, help="Mobile phone in international format (+1 613 555 0199); \"\" removes it.")
@with_appcontext
def set_on_call_command(email, on_call, phone):
    """Put a coordinator, approver or administrator on or off call, and/or set their phone."""
    if on_call is None and phone is None:
        raise fail(N_("Give --on, --off or --phone."))
    user = db_session().scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise fail(N_("No user has the email address %(email)s."), email=email)
    changes = {}
    if on_call is not None:
        changes["on_call"] = on_call
    if phone is not None:
        changes["phone"] = phone or None
    try:
        staff_notifications.update_member(user, **changes)
    except staff_notifications.OnCallError as err:
        db_session().rollback()
        raise failed(err) from None
    state = "on call" if user.on_call else "not on call"
    click.echo(f"{user.email} is {state}; phone: {user.phone or 'none'}.")


COMMANDS = (create_user_command, set_on_call_command)
