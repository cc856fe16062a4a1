"""What every package's tables share: one naming convention for constraints and indexes.

Each package keeps its own declarative base and MetaData (Alembic's env.py combines them), so
`notify` and `registry` never learn about the application's tables. Every base is built the
same way, which keeps the constraint names the migrations rely on identical across packages:

    class RegistryBase(DeclarativeBase):
        metadata = package_metadata()
"""
from __future__ import annotations

from sqlalchemy import MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def package_metadata() -> MetaData:
    """A fresh MetaData for one package's declarative base, naming by the shared convention."""
    return MetaData(naming_convention=NAMING)
