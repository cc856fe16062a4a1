"""The `emergency` console script: a FlaskGroup that builds the app with `create_app`.

The project's commands belong to the group itself, not only to `app.cli`, so `emergency
--help` lists them without building the app (which needs SECRET_KEY outside development
mode); `with_appcontext` builds it when one of them runs. What stops the app from starting
or from opening its database is then reported on one line, like every other CLI error.
"""
from __future__ import annotations

import os

import click
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError

from emergency import create_app
from emergency.cli import COMMANDS
from emergency.cli.errors import N_, fail, failed
from emergency.core.config import ConfigurationError

# A database that cannot be reached or opened (refused connection, unknown host, missing
# driver or file). Other database errors are the program's fault and keep their traceback.
DATABASE_ERRORS = (ArgumentError, InterfaceError, OperationalError)


class EmergencyGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except (ConfigurationError, *DATABASE_ERRORS):
            # Without an app there are no extension commands (`limiter`); the group's own
            # are still listed, and say what is missing when they run.
            self._load_plugin_commands()
            return sorted(click.Group.list_commands(self, ctx))
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigurationError as err:
            raise failed(err) from None
        except DATABASE_ERRORS as err:
            reason = err.orig if isinstance(err, DBAPIError) else err
            raise fail(N_("Cannot use the database %(url)s: %(reason)s"), url=_database_url(ctx),
                       reason=(str(reason).strip().splitlines() or [type(reason).__name__])[0]) from None


def _database_url(ctx: click.Context) -> str:
    """The app's DATABASE_URL without its password (the environment's if the app failed)."""
    try:
        raw = ctx.ensure_object(ScriptInfo).load_app().config["DATABASE_URL"]
    except Exception:  # noqa: BLE001 - the app cannot be built: show what was asked for
        raw = os.environ.get("DATABASE_URL", "")
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(raw)


@click.group(cls=EmergencyGroup, create_app=create_app, add_default_commands=True, load_dotenv=False)
def main():
    """Consular emergency response: console, workers and registry tools."""


for _command in COMMANDS:
    main.add_command(_command)
