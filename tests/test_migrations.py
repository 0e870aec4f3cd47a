"""Alembic owns the schema: up, down, up again, and no drift from the ORM."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from galcat.catalog import migrate
from galcat.catalog.db import Database
from galcat.catalog.schema import metadata
from galcat.catalog.schema_version import SCHEMA_HEAD, schema_revision


def test_up_down_up(db: Database) -> None:
    assert migrate.current_revision(db) == migrate.head_revision(db)
    assert schema_revision(db) == SCHEMA_HEAD == migrate.head_revision(db)
    migrate.downgrade(db, "base")
    assert migrate.current_revision(db) is None and schema_revision(db) is None
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision(db)
    assert set(metadata.tables) <= set(sa.inspect(db.engine).get_table_names())


def test_orm_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_sqlite_connection_settings(tmp_path) -> None:
    db = Database.for_url(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    db.dispose()
