"""Release rows as Arrow record batches, straight from the database driver.

No SQLAlchemy row objects: PostgreSQL sends the rows with ``COPY (SELECT …) TO STDOUT``
as CSV, which pyarrow parses into columns; SQLite's own cursor hands over row tuples,
transposed into one Arrow array per column. Every batch holds exactly ``chunk_rows``
rows (the last one fewer) and the table's Arrow schema, so the writers, the spool and
the Parquet row groups see the same chunks on both backends.

On PostgreSQL the statement runs with the planner steered to a plan that streams in
key order (nested loops over indexes, no sort, no JIT, no parallel workers), so rows
flow while the server is still reading and neither side holds the whole result. The
``COPY`` runs inside a savepoint, rolled back after it: the settings end with it, and a
reader that stops early (which cancels the ``COPY``) leaves the transaction usable.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from galcat.catalog.release.definitions import TableDef

ARROW_TYPES = {"int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
               "float64": pa.float64(), "bool": pa.bool_(), "str": pa.string()}
SQL_TYPES: dict[str, Any] = {"int16": sa.SmallInteger, "int32": sa.Integer,
                             "int64": sa.BigInteger, "float64": sa.Float(53),
                             "bool": sa.Boolean, "str": sa.Text}
STREAMING_PLAN = {"jit": "off", "max_parallel_workers_per_gather": "0",
                  "enable_hashjoin": "off", "enable_mergejoin": "off", "enable_sort": "off"}
"""PostgreSQL settings for a release ``COPY``: a plan that streams in key order."""
OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)
FETCH_ROWS = 1024
"""Rows taken from the driver at a time, before they become Arrow arrays."""


def arrow_schema(table: TableDef) -> pa.Schema:
    """The Arrow types of the table's columns (no metadata)."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.dtype]) for c in table.columns])


def read_batches(connection: sa.Connection, stmt: sa.Select[Any], table: TableDef,
                 chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """``stmt``'s rows (in the table's column order) as record batches of ``chunk_rows``.

    Run nothing else on ``connection`` until the batches are consumed or the iterator
    closed. Database errors are raised as ``sqlalchemy.exc.DBAPIError``, as ``execute``
    raises them."""
    reader = _postgres_batches if connection.dialect.name == "postgresql" else _sqlite_batches
    yield from reader(connection, stmt, table, chunk_rows)


@contextmanager
def _driver_errors(connection: sa.Connection, sql: str, params: Any) -> Iterator[None]:
    """The driver's exceptions as SQLAlchemy's, as if ``connection.execute`` had run."""
    base = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except base as exc:
        raise sa.exc.DBAPIError.instance(sql, params, exc, base) from exc


def rebatch(batches: Iterator[pa.RecordBatch], schema: pa.Schema, chunk_rows: int
            ) -> Iterator[pa.RecordBatch]:
    """The same rows in batches of exactly ``chunk_rows`` (the last one fewer)."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.num_rows
        while size >= chunk_rows:
            joined = pa.Table.from_batches(pending, schema)
            yield _one_batch(joined.slice(0, chunk_rows), schema)
            rest = joined.slice(chunk_rows)
            pending, size = rest.to_batches(), rest.num_rows
    if size:
        yield _one_batch(pa.Table.from_batches(pending, schema), schema)


def _one_batch(rows: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    return rows.combine_chunks().to_batches()[0] if rows.num_rows else \
        pa.RecordBatch.from_pylist([], schema=schema)


def _compiled(connection: sa.Connection, stmt: sa.Select[Any]) -> Any:
    """The statement as the driver's SQL (``.params``; ``.positiontup`` for ``?``)."""
    return stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})


# --- PostgreSQL: COPY … TO STDOUT (FORMAT csv), parsed by pyarrow -----------------------


def _postgres_batches(connection: sa.Connection, stmt: sa.Select[Any], table: TableDef,
                      chunk_rows: int) -> Iterator[pa.RecordBatch]:
    typed = stmt.with_only_columns(
        *(sa.cast(c, SQL_TYPES[col.dtype]).label(col.name)
          for c, col in zip(stmt.selected_columns, table.columns, strict=True)),
        maintain_column_froms=True)
    compiled = _compiled(connection, typed)
    sql = f"COPY ({compiled}) TO STDOUT (FORMAT csv)"
    dbapi: Any = connection.connection.dbapi_connection
    schema = arrow_schema(table)
    options = _csv_options(schema)
    with _driver_errors(connection, sql, compiled.params), dbapi.cursor() as cursor:
        cursor.execute("SAVEPOINT galcat_release_copy")
        try:
            for name, value in STREAMING_PLAN.items():
                cursor.execute("SELECT set_config(%s, %s, true)", (name, value))

            with cursor.copy(sql, compiled.params) as copy:
                lines = iter(copy)
                while blocks := _blocks(lines, chunk_rows):
                    yield _parse_csv(blocks, schema, options)
        finally:
            if dbapi.info.transaction_status in OPEN:
                cursor.execute("ROLLBACK TO SAVEPOINT galcat_release_copy")
                cursor.execute("RELEASE SAVEPOINT galcat_release_copy")


def _blocks(lines: Iterator[Any], chunk_rows: int) -> list[bytes]:
    """The next ``chunk_rows`` lines (fewer at the end), joined ``FETCH_ROWS`` at a time."""
    blocks: list[bytes] = []
    rows = 0
    while rows < chunk_rows:
        taken = list(islice(lines, min(FETCH_ROWS, chunk_rows - rows)))
        if not taken:
            break
        blocks.append(b"".join(taken))
        rows += len(taken)
    return blocks


def _csv_options(schema: pa.Schema) -> tuple[Any, ...]:
    read = pacsv.ReadOptions(column_names=schema.names, block_size=1 << 24)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types=dict(zip(schema.names, schema.types, strict=True)),
        null_values=[""], true_values=["t"], false_values=["f"],
        strings_can_be_null=True, quoted_strings_can_be_null=False)
    return read, parse, convert


def _parse_csv(blocks: list[bytes], schema: pa.Schema, options: tuple[Any, ...]
               ) -> pa.RecordBatch:
    """PostgreSQL CSV lines (NULL an empty field, ``""`` an empty string) as one batch."""
    read, parse, convert = options
    parsed = pacsv.read_csv(io.BytesIO(b"".join(blocks)), read_options=read,
                            parse_options=parse, convert_options=convert)
    return _one_batch(parsed.cast(schema), schema)


# --- SQLite: the driver's cursor, transposed ---------------------------------------


def _sqlite_batches(connection: sa.Connection, stmt: sa.Select[Any], table: TableDef,
                    chunk_rows: int) -> Iterator[pa.RecordBatch]:
    compiled = _compiled(connection, stmt)
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    dbapi: Any = connection.connection.dbapi_connection
    schema = arrow_schema(table)
    cursor = dbapi.cursor()

    def fetched() -> Iterator[pa.RecordBatch]:
        while rows := cursor.fetchmany(FETCH_ROWS):
            columns = zip(*rows, strict=True)
            yield pa.record_batch([_sqlite_array(values, c.dtype) for values, c
                                   in zip(columns, table.columns, strict=True)], schema=schema)

    try:
        with _driver_errors(connection, str(compiled), params):
            cursor.execute(str(compiled), params)
            yield from rebatch(fetched(), schema, chunk_rows)
    finally:
        cursor.close()


def _sqlite_array(values: tuple[Any, ...], dtype: str) -> pa.Array:
    if dtype == "bool":
        return pa.array(values, type=pa.int8()).cast(pa.bool_())
    if dtype == "float64":
        return pa.array(np.array(values, dtype=np.float64))
    try:
        return pa.array(values, type=ARROW_TYPES[dtype])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values).cast(ARROW_TYPES[dtype])
