"""Running a translated ADQL query: the TAP tables as common table expressions over the
newest releases, a row limit (MAXREC) and a time limit.

A catalogue table's expression is its newest release's pinned query (the same rows
its files hold); a catalogue without a release yet gives an empty table with the
right columns. ``TAP_SCHEMA``'s tables are literal rows.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from galcat.catalog.readonly import deadline_handler
from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.definitions import Column, catalogue
from galcat.catalog.release.query import select_rows
from galcat.catalog.sky import cone
from galcat.catalog.tap.adql import AdqlError, Translated
from galcat.catalog.tap.sphere import add_sphere_functions
from galcat.catalog.tap.tables import TAP_SCHEMA, TapTable, tap_schema_rows

SQL_TYPES = {"int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
             "float64": "DOUBLE PRECISION", "bool": "BOOLEAN", "str": "TEXT"}


class TapQueryError(Exception):
    """The database refused or stopped a query; the message says why."""


@dataclass
class TapResult:
    """The answer: column names, rows (at most MAXREC), and whether MAXREC cut it."""

    names: list[str]
    rows: list[tuple[Any, ...]]
    overflow: bool


def with_tables(translated: Translated, releases: Mapping[str, ReleaseRecord],
                engine: Engine) -> str:
    """The runnable statement: ``WITH <each table used> AS (…) <query>``.

    On SQLite, which has no sky index for ADQL geometry, a query whose every row must
    lie in one cone (``Translated.cone``) reads only the rows of the positions
    ``catalog.sky.cone`` finds there; the query's own CONTAINS still decides."""
    positions = None
    if translated.cone is not None and engine.dialect.name == "sqlite":
        positions = _cone_positions(engine, translated.tables[0], *translated.cone)
    ctes = [f"{t.cte} AS ({table_sql(t, releases.get(t.catalogue), engine, positions)})"
            for t in translated.tables]
    sql = translated.sql
    if not ctes:
        return sql
    if sql[:4].upper() == "WITH":
        return "WITH " + ", ".join(ctes) + ", " + sql[4:].lstrip()
    return "WITH " + ", ".join(ctes) + " " + sql


def table_sql(table: TapTable, release: ReleaseRecord | None, engine: Engine,
              positions: list[int] | None = None) -> str:
    """The SELECT that gives a TAP table's rows, with its public column names (only
    those of the positional-table ids ``positions``, when given)."""
    if table.schema == TAP_SCHEMA:
        return _literal_rows(table.columns, tap_schema_rows()[table.name], engine)
    if release is None:
        return _literal_rows(table.columns, [], engine)
    sql = _release_sql(release, table, engine, positions is not None)
    if positions is None:
        return sql
    ids = ", ".join(str(int(i)) for i in positions) or "NULL"
    return sql.replace(f"({SENTINEL_ID})", f"({ids})")


SENTINEL_ID = -987654321
"""Stands for the position ids in a release query compiled once (see ``_release_sql``)."""
_COMPILED: dict[tuple[str, str, str, bool], str] = {}
_COMPILED_LOCK = threading.Lock()


def _release_sql(release: ReleaseRecord, table: TapTable, engine: Engine,
                 with_positions: bool) -> str:
    """A release table's pinned query as SQL text, compiled once per pinned spec (a
    release's query never changes) and backend; with positions, their list is
    ``(SENTINEL_ID)``."""
    key = (repr(release.pinned), table.qualified, engine.dialect.name, with_positions)
    with _COMPILED_LOCK:
        known = _COMPILED.get(key)
    if known is not None:
        return known
    statement = select_rows(release.pinned, catalogue(table.catalogue).table(table.name),
                            positions=[SENTINEL_ID] if with_positions else None
                            ).order_by(None)
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    if with_positions and sql.count(f"({SENTINEL_ID})") != 1:
        raise RuntimeError(f"release query of {table.qualified}: position list not found")
    with _COMPILED_LOCK:
        _COMPILED[key] = sql
    return sql


MAX_CONE_POSITIONS = 50_000
"""More positions than this in a cone: SQLite scans instead (the id list would cost more)."""


def _cone_positions(engine: Engine, table: TapTable, ra: float, dec: float,
                    radius: float) -> list[int] | None:
    if not table.catalogue or not 0 < radius <= 180 or not -90 <= dec <= 90:
        return None
    position_table = catalogue(table.catalogue).table(table.name).position_table
    with engine.connect() as connection:
        try:
            found = cone(Session(bind=connection), position_table, ra % 360.0, dec,
                         min(radius, 90.0), columns=["id"])
        except ValueError:
            return None
    ids = [int(r["id"]) for r in found]
    return ids if len(ids) <= MAX_CONE_POSITIONS else None


def run_query(engine: Engine, sql: str, maxrec: int, timeout_s: float) -> TapResult:
    """At most ``maxrec`` rows of ``sql`` (and whether there were more), stopped after
    ``timeout_s`` seconds. PostgreSQL reads through a server-side cursor, so rows past
    ``maxrec`` are never sent."""
    with engine.connect() as connection:
        dbapi: Any = connection.connection.dbapi_connection
        sqlite = engine.dialect.name == "sqlite"
        try:
            if sqlite:
                add_sphere_functions(dbapi)
                dbapi.set_progress_handler(deadline_handler(timeout_s), 10_000)
                cursor = dbapi.cursor()
            else:
                with dbapi.cursor() as setup:
                    setup.execute(f"SET LOCAL statement_timeout = "
                                  f"{max(1, round(timeout_s * 1000))}")
                cursor = dbapi.cursor(name="tap_query")
            try:
                cursor.execute(sql)
                rows = [tuple(r) for r in cursor.fetchmany(maxrec + 1)]
                names = [d[0] for d in cursor.description or ()]
            finally:
                cursor.close()
        except Exception as exc:
            if not isinstance(exc, engine.dialect.dbapi.Error):  # type: ignore[union-attr]
                raise
            raise TapQueryError(_reason(exc, timeout_s)) from None
        finally:
            if sqlite:
                dbapi.set_progress_handler(None, 0)
            connection.rollback()
    return TapResult(names, rows[:maxrec], len(rows) > maxrec)


def result_columns(translated: Translated, result: TapResult,
                   known: Mapping[str, TapTable]) -> list[Column]:
    """A ``Column`` per output column: the TAP column's type, unit and UCD where the
    output is a column of a table, else a type read from the values."""
    out = []
    for index, name in enumerate(result.names):
        source = translated.sources.get(name)
        table = known.get(source[0]) if source else None
        if table is None and len(translated.tables) == 1:
            table = translated.tables[0]
        column = table.column(source[1] if source else name) if table else None
        values = [row[index] for row in result.rows]
        if column is not None and _fits(column.dtype, values):
            out.append(Column(name, column.dtype, column.unit, column.ucd, column.description,
                              column.nullable))
        else:
            out.append(Column(name, _dtype(values), "", "", "", True))
    return out


def _literal_rows(columns: Sequence[Column], rows: Sequence[Sequence[Any]],
                  engine: Engine) -> str:
    def literal(value: Any, column: Column) -> str:
        if value is None:
            return f"CAST(NULL AS {SQL_TYPES[column.dtype]})"
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        return repr(int(value)) if column.dtype != "float64" else repr(float(value))

    quote = engine.dialect.identifier_preparer.quote
    if not rows:
        names = ", ".join(f"{literal(None, c)} AS {quote(c.name)}" for c in columns)
        return f"SELECT {names} WHERE 1 = 0"
    selects = [", ".join(f"{literal(v, c)} AS {quote(c.name)}"
                         for v, c in zip(row, columns, strict=True)) for row in rows]
    return " UNION ALL ".join(f"SELECT {s}" for s in selects)


def _fits(dtype: str, values: Sequence[Any]) -> bool:
    kinds = {"float64": (float, int), "str": (str,), "bool": (bool, int)}
    wanted = kinds.get(dtype, (int,))
    return all(v is None or isinstance(v, wanted) for v in values)


def _dtype(values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int64"
    if present and all(isinstance(v, int | float) for v in present):
        return "float64"
    return "str"


def _reason(exc: Exception, timeout_s: float) -> str:
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    state = getattr(exc, "sqlstate", None)
    if state == "57014" or "interrupted" in message:
        return f"the query ran past the {timeout_s:g}-second limit and was stopped"
    if state == "42883" and ("spoint" in message or "scircle" in message or "@" in message):
        return ("ADQL geometry needs the pg_sphere extension on this PostgreSQL server "
                f"(Debian: postgresql-15-pgsphere; then run galcat init): {message}")
    if "no such function" in message:
        return (f"{message}: on SQLite, ADQL geometry is POINT, CIRCLE, CONTAINS and "
                "DISTANCE only; BOX, POLYGON, INTERSECTS and the rest need PostgreSQL "
                "with pg_sphere")
    return f"the database refused the query: {message}"


__all__ = ["AdqlError", "TapQueryError", "TapResult", "result_columns", "run_query",
           "table_sql", "with_tables"]
