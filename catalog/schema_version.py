"""Which schema revision a catalog is at, read without Alembic (commands that only read
check it on every start, so this stays cheap: one SELECT, no migration scripts loaded)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from galcat.catalog.db import Database, get_database
from galcat.catalog.settings import Settings

SCHEMA_HEAD = "0010"
"""The newest migration shipped with this code (a test checks it against Alembic)."""


def schema_revision(db: Database) -> str | None:
    """The revision recorded in ``alembic_version`` (None before ``galcat init``)."""
    with db.engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def stored_revision(settings: Settings) -> str | None:
    """The schema revision of the catalogue of ``settings``; None when it has none yet.
    A SQLite file that does not exist is not created."""
    if settings.is_sqlite:
        location = settings.database_url.split(":///", 1)[-1]
        if location not in ("", ":memory:") and not Path(location).is_file():
            return None
    return schema_revision(get_database(settings))
