"""Which schema revision a catalog is at, read without Alembic (commands that only read
check it on every start, so this stays cheap: one SELECT, no migration scripts loaded)."""

from __future__ import annotations

import sqlalchemy as sa

from galcat.catalog.db import Database

SCHEMA_HEAD = "0002"
"""The newest migration shipped with this code (a test checks it against Alembic)."""


def schema_revision(db: Database) -> str | None:
    """The revision recorded in ``alembic_version`` (None before ``galcat init``)."""
    with db.engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
