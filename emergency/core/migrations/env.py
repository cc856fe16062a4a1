"""Alembic environment: one schema made of the registry, notify and application tables.

Run through `emergency db upgrade`, which passes the engine of the app's DATABASE_URL.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from emergency.core.models import AppBase
from notify.models import NotifyBase
from registry.models import RegistryBase

target_metadata = [RegistryBase.metadata, NotifyBase.metadata, AppBase.metadata]
config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
