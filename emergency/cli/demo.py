"""The demo: schema, a synthetic registry and four console users, on the embedded defaults.

Only in development mode: demo users get fresh random passwords each start (printed once),
so no fixed password ever exists in a deployment. Only the administrator sees the outbox
(where the demo's messages, with their sign-in and answer links, go), and the start-up lines
say so.
"""
from __future__ import annotations

import os
import secrets

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from emergency.cli.errors import N_, fail
from emergency.core.auth import create_user, end_sessions
from emergency.core.database import db_session, engine
from emergency.core.migrate import upgrade
from emergency.core.models import User
from emergency.core.rate_limits import DEMO_FACTOR
from registry.models import Traveller

DEMO_USERS = (
    ("coordinator", "coordinator@demo.example", "Camille Coordinator"),
    ("approver", "approver@demo.example", "Alex Approver"),
    ("viewer", "viewer@demo.example", "Val Viewer"),
    ("admin", "admin@demo.example", "Ari Admin"),
)


def prepare_demo(travellers: int) -> list[tuple[str, str, str]]:
    if current_app.config["ENV_NAME"] != "development":
        raise fail(N_("The demo runs only with EMERGENCY_ENV=development."))
    upgrade(engine())
    session = db_session()
    logins = []
    for role, email, name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = create_user(email, name, role, password)
        else:
            user.set_password(password)
            end_sessions(user)  # last run's sessions used the old passwords
        logins.append((role, email, password))
    session.commit()
    if not session.scalar(select(func.count()).select_from(Traveller)):
        from registry.seed import seed

        print(f"Seeding {travellers} synthetic travellers...")
        seed(session, travellers)
        session.commit()
    return logins


@click.command("demo")
@click.option("--travellers", "count", type=int, default=20000, show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@with_appcontext
def demo(count: int, port: int):
    """Prepare a demo registry on the embedded defaults, print the logins, run the console."""
    logins = prepare_demo(count)
    config = current_app.config
    if "PUBLIC_BASE_URL" not in os.environ:  # links in the demo's messages open on this server
        config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    config["RATELIMIT_DEMO_FACTOR"] = DEMO_FACTOR
    click.echo("")
    click.echo("Consular Emergency Response - demo / démonstration")
    click.echo(f"  Links in messages / liens des messages: {config['PUBLIC_BASE_URL']}")
    click.echo(f"  Rate limits on public forms relaxed {DEMO_FACTOR}x for the demo / "
               f"limites de fréquence des formulaires publics assouplies ({DEMO_FACTOR}x) pour la démonstration")
    click.echo(f"  Console:  http://127.0.0.1:{port}/")
    click.echo(f"  Register: http://127.0.0.1:{port}/register")
    for role, email, password in logins:
        click.echo(f"  {role:<12} {email}  password / mot de passe: {password}")
    admin = next(email for role, email, _ in logins if role == "admin")
    click.echo(f"  Outbox / boîte d'envoi: http://127.0.0.1:{port}/outbox (sign in as / connectez-vous en tant que {admin})")
    click.echo("")
    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True, use_reloader=False)


COMMANDS = (demo,)
