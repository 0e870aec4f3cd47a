"""Schema migrations through Alembic (``galcat init`` upgrades to head)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from galcat.catalog.access import ensure_readonly_role
from galcat.catalog.db import Database

MIGRATIONS = Path(str(importlib.resources.files("galcat.migrations")))
"""The Alembic scripts (``galcat.migrations``), found as package data: catalog only runs
them, so it does not import them."""


def alembic_config(database_url: str) -> Config:
    """An Alembic config for ``database_url`` with galcat's migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate ``db`` up to ``revision``; on PostgreSQL also create and grant the read-only
    role user SQL runs as (``db.readonly_role``)."""
    with db.engine.begin() as connection:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    ensure_readonly_role(db, db.readonly_role)


def downgrade(db: Database, revision: str = "base") -> None:
    """Migrate ``db`` down to ``revision``."""
    with db.engine.begin() as connection:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(db: Database) -> str | None:
    """The revision ``db`` is at (None before ``galcat init``)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(db: Database) -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
