"""Write a prepared table of rows into a catalogue table, inside the caller's transaction.

Rows arrive as one Arrow table (column names as in the database). Rows whose natural
key is new are inserted; rows whose key exists already have their other columns
overwritten, so loading a file twice changes nothing.

- PostgreSQL: the rows are written as CSV by pyarrow and sent with ``COPY … FROM STDIN``
  straight into the table, inside a savepoint. Only when that meets a key that exists
  does it roll back to the savepoint and go the slow way: ``COPY`` into a temporary
  table, then one ``INSERT … SELECT … ON CONFLICT DO UPDATE``.
- SQLite: one ``executemany`` of ``INSERT … ON CONFLICT DO UPDATE`` on the driver's
  cursor, with plain tuples (the conflict clause only acts on keys that exist), with a
  page cache large enough for the indexes it writes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database

COPY_BLOCK_BYTES = 1 << 22
"""Bytes handed to ``COPY`` per write."""
SQLITE_CACHE_KIB = -262_144
"""SQLite page cache while loading (negative: KiB), so the indexes being written stay
in memory: the default 2 MiB makes every index insert a read from the file."""


def load_rows(db: Database, session: Session, table: sa.Table, rows: pa.Table,
              key: Sequence[str]) -> None:
    """Insert ``rows`` into ``table``; where ``key`` already exists, update instead."""
    if rows.num_rows == 0:
        return
    dbapi: Any = session.connection().connection.dbapi_connection
    load = _postgres if db.dialect == "postgresql" else _sqlite
    load(dbapi, table.name, rows, list(key))


def _updates(columns: Sequence[str], key: Sequence[str]) -> str:
    changed = [c for c in columns if c not in key]
    if not changed:
        return f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    return (f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in changed))


# --- PostgreSQL ---------------------------------------------------------------------


def _postgres(dbapi: Any, table: str, rows: pa.Table, key: list[str]) -> None:
    from psycopg import errors

    columns = ", ".join(rows.column_names)
    data = csv_bytes(rows)
    with dbapi.cursor() as cursor:
        cursor.execute("SAVEPOINT galcat_fresh_rows")
        try:
            _copy(cursor, f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)", data)
        except errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT galcat_fresh_rows")
        else:
            cursor.execute("RELEASE SAVEPOINT galcat_fresh_rows")
            return
        cursor.execute(f"CREATE TEMP TABLE _galcat_load ON COMMIT DROP AS "
                       f"SELECT {columns} FROM {table} WITH NO DATA")
        _copy(cursor, f"COPY _galcat_load ({columns}) FROM STDIN (FORMAT csv)", data)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _galcat_load "
                       + _updates(rows.column_names, key))
        cursor.execute("DROP TABLE _galcat_load")


def csv_bytes(rows: pa.Table) -> memoryview:
    """The rows as PostgreSQL reads CSV: no header, null an empty field, every string
    quoted (so an empty string is ``""``), floats in their shortest exact form."""
    buffer = io.BytesIO()
    pacsv.write_csv(rows, buffer, pacsv.WriteOptions(include_header=False,
                                                     quoting_style="needed"))
    return buffer.getbuffer()


def _copy(cursor: Any, statement: str, data: memoryview) -> None:
    with cursor.copy(statement) as copy:
        for start in range(0, len(data), COPY_BLOCK_BYTES):
            copy.write(data[start:start + COPY_BLOCK_BYTES])


# --- SQLite -------------------------------------------------------------------------


def _sqlite(dbapi: Any, table: str, rows: pa.Table, key: list[str]) -> None:
    columns = rows.column_names
    marks = ", ".join("?" * len(columns))
    statement = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
                 + _updates(columns, key))
    values = [rows.column(c).to_pylist() for c in columns]
    cursor = dbapi.cursor()
    cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
    try:
        cursor.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
        cursor.executemany(statement, zip(*values, strict=True))
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache)}")
        cursor.close()
