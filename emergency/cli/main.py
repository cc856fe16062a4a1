"""The `emergency` console script: a FlaskGroup that builds the app with `create_app`."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup

from emergency import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True, load_dotenv=False)
def main():
    """Consular emergency response: console, workers and registry tools."""
