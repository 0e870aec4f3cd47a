"""ADQL to the backend's SQL, by queryparser, with the tables TAP shows put in place.

PostgreSQL gets queryparser's PostgreSQL translation, whose geometry is pg_sphere's
(``spoint``, ``scircle``, ``@``, ``<->``). SQLite gets the MySQL translation, whose
geometry is function calls (``srcontainsl``, ``sdist``) that ``catalog.tap.sphere``
provides there for points and circles. Every table a query names must be one TAP
shows; it then reads a common table expression holding that table's rows, so a query
never reaches a table of the catalogue's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from queryparser.adql import ADQLQueryTranslator
from queryparser.exceptions import QueryError, QuerySyntaxError
from queryparser.mysql import MySQLQueryProcessor
from queryparser.postgresql import PostgreSQLQueryProcessor

from galcat.catalog.tap.tables import TapTable, tap_tables


class AdqlError(Exception):
    """A query TAP refuses, with what was wrong."""


@dataclass(frozen=True)
class Translated:
    """A query as the backend runs it, and what it reads."""

    sql: str
    """The translated query with each TAP table replaced by its CTE name (no WITH yet)."""
    tables: tuple[TapTable, ...]
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Output column name -> (qualified table, column) it comes from, where known."""
    limit_from_query: bool = False


def translate(adql: str, dialect: str, known: Mapping[str, TapTable] | None = None
              ) -> Translated:
    """``adql`` as ``dialect`` (``postgresql`` or ``sqlite``) SQL over TAP's tables."""
    known = tap_tables() if known is None else known
    text = adql.strip().rstrip(";").strip()
    if not text:
        raise AdqlError("QUERY is empty: send an ADQL SELECT, e.g. "
                        "SELECT TOP 10 * FROM TAP_SCHEMA.tables")
    try:
        translator = ADQLQueryTranslator(text)
        sql = translator.to_postgresql() if dialect == "postgresql" else translator.to_mysql()
        processor = (PostgreSQLQueryProcessor if dialect == "postgresql"
                     else MySQLQueryProcessor)(sql)
    except QuerySyntaxError as exc:
        raise AdqlError(f"ADQL syntax error {_where(exc)}") from None
    except QueryError as exc:
        raise AdqlError(f"ADQL query refused: {_message(exc)}; name every table with its "
                        "schema, e.g. dla.absorbers (see /tap/tables)") from None
    except Exception as exc:  # queryparser raises bare errors on some malformed queries
        raise AdqlError(f"ADQL query could not be translated: {exc}") from None
    used: dict[str, TapTable] = {}
    for schema, name in processor.tables:
        qualified = f"{schema}.{name}".lower()
        if qualified not in known:
            raise AdqlError(f"no table {schema}.{name}: TAP shows "
                            f"{', '.join(t.qualified for t in known.values())}")
        used[qualified] = known[qualified]
    sql = sql.strip().rstrip(";")
    for table in used.values():
        sql = _replace_table(sql, table)
    sources = {}
    for name, origin in processor.display_columns:
        if len(origin) == 3 and all(isinstance(o, str) for o in origin) and origin[2] != "*":
            sources[name] = (f"{origin[0]}.{origin[1]}".lower(), origin[2])
    return Translated(sql, tuple(used.values()), sources,
                      limit_from_query=bool(re.search(r"\bLIMIT\s+\d+\s*$", sql, re.I)))


def _replace_table(sql: str, table: TapTable) -> str:
    """Every reference to ``schema.name`` (bare, "quoted" or `quoted`) outside string
    literals becomes the table's CTE name."""
    pattern = re.compile(
        rf"""(?<![\w."`])["`]?{re.escape(table.schema)}["`]?\s*\.\s*"""
        rf"""["`]?{re.escape(table.name)}["`]?(?![\w"`])""", re.IGNORECASE)
    parts = re.split(r"('(?:[^']|'')*')", sql)
    return "".join(p if i % 2 else pattern.sub(table.cte, p) for i, p in enumerate(parts))


def _where(exc: QuerySyntaxError) -> str:
    errors = exc.args[0] if exc.args else []
    if errors and isinstance(errors[0], tuple) and len(errors[0]) == 3:
        line, column, near = errors[0]
        return f"at line {line}, column {column + 1}, near {near!r}"
    return str(exc)


def _message(exc: Exception) -> str:
    return str(exc.args[0] if exc.args else exc).rstrip(".")
