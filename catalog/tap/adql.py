"""ADQL to the backend's SQL, by queryparser, with the tables TAP shows put in place.

queryparser's parser costs a few hundred milliseconds per query, so a query is
translated once per *shape*: its number literals (other than 0 and 1) are replaced by
sentinels, the shape's translation is cached, and the literals are put back; when a
sentinel does not come through the translation unchanged (BOX, whose corners
queryparser computes), the query is translated whole.

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
from functools import lru_cache

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
    cone: tuple[float, float, float] | None = None
    """(ra, dec, radius) degrees when every row must lie in that cone (see ``_cone``)."""


def translate(adql: str, dialect: str, known: Mapping[str, TapTable] | None = None
              ) -> Translated:
    """``adql`` as ``dialect`` (``postgresql`` or ``sqlite``) SQL over TAP's tables."""
    known = tap_tables() if known is None else known
    text = adql.strip().rstrip(";").strip()
    if not text:
        raise AdqlError("QUERY is empty: send an ADQL SELECT, e.g. "
                        "SELECT TOP 10 * FROM TAP_SCHEMA.tables")
    shape, literals = _shape(text)
    try:
        sql, tables, columns = _translated(shape, dialect)
        sql = _fill(sql, literals)
    except (AdqlError, _LostLiteral):
        sql, tables, columns = _translated(text, dialect)
    used: dict[str, TapTable] = {}
    for schema, name in tables:
        qualified = f"{schema}.{name}".lower()
        if qualified not in known:
            raise AdqlError(f"no table {schema}.{name}: TAP shows "
                            f"{', '.join(t.qualified for t in known.values())}")
        used[qualified] = known[qualified]
    sql = sql.strip().rstrip(";")
    for table in used.values():
        sql = _replace_table(sql, table)
    sources = {name: (f"{origin[0]}.{origin[1]}".lower(), origin[2])
               for name, origin in columns}
    cone = _cone(text) if len(used) == 1 else None
    return Translated(sql, tuple(used.values()), sources, cone)


@lru_cache(maxsize=512)
def _translated(text: str, dialect: str) -> tuple[str, tuple[tuple[str, str], ...],
                                                   tuple[tuple[str, tuple[str, str, str]], ...]]:
    """queryparser's translation of ``text``, the tables it reads and where each output
    column comes from."""
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
    columns = tuple((name, (origin[0], origin[1], origin[2]))
                    for name, origin in processor.display_columns
                    if len(origin) == 3 and all(isinstance(o, str) for o in origin)
                    and origin[2] != "*")
    return sql, tuple((str(a), str(b)) for a, b in processor.tables), columns


class _LostLiteral(Exception):
    """A sentinel did not come through the translation unchanged."""


NUMBER = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?(?![\w.])")
QUOTED = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")""")


def _shape(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with its number literals (but 0 and 1) replaced by sentinels outside
    quotes; and (sentinel, literal) pairs."""
    literals: list[tuple[str, str]] = []

    def sentinel(match: re.Match[str]) -> str:
        literal = match.group(0)
        if literal in ("0", "1"):
            return literal
        integer = match.group(2) is None and "." not in match.group(1)
        token = f"98765{len(literals):04d}1" + ("" if integer else ".25")
        literals.append((token, literal))
        return token

    parts = QUOTED.split(text)
    return "".join(p if i % 2 else NUMBER.sub(sentinel, p)
                   for i, p in enumerate(parts)), literals


def _fill(sql: str, literals: list[tuple[str, str]]) -> str:
    """The literals back in place of their sentinels (an integer's may have gained
    ``.0``: geometry arguments come out as floats)."""
    for token, literal in literals:
        pattern = rf"(?<![\w.]){re.escape(token)}(?:\.0)?(?![\w.])"
        if len(re.findall(pattern, sql)) != 1:
            raise _LostLiteral(token)
        sql = re.sub(pattern, literal.replace("\\", r"\\"), sql)
    return sql


CONE = re.compile(
    r"""(?:\b1\s*=\s*CONTAINS\s*\(\s*POINT\s*\(\s*'[^']*'\s*,\s*(?:\w+\.)?ra\s*,"""
    r"""\s*(?:\w+\.)?dec\s*\)\s*,\s*CIRCLE\s*\(\s*'[^']*'\s*,\s*(?P<ra>[-+\d.eE]+)\s*,"""
    r"""\s*(?P<dec>[-+\d.eE]+)\s*,\s*(?P<r>[-+\d.eE]+)\s*\)\s*\))""", re.IGNORECASE)
FORBIDDEN = re.compile(r"\b(OR|NOT|CASE|GROUP|HAVING|UNION|EXCEPT|INTERSECT|JOIN)\b"
                       r"|,\s*[A-Za-z_]\w*\s*\.\s*[A-Za-z_]\w*", re.IGNORECASE)


def _cone(text: str) -> tuple[float, float, float] | None:
    """(ra, dec, radius) in degrees when every row of the one-table query ``text`` must
    lie in one ``1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', …))`` cone: the
    predicate appears once, after WHERE, in a query without OR, NOT, CASE, GROUP BY,
    HAVING, set operations, joins or a second SELECT."""
    unquoted = QUOTED.sub("''", text)
    found = list(CONE.finditer(unquoted))
    where = re.search(r"\bWHERE\b", unquoted, re.IGNORECASE)
    if (len(found) != 1 or where is None or found[0].start() < where.end()
            or len(re.findall(r"\bSELECT\b", unquoted, re.IGNORECASE)) != 1
            or FORBIDDEN.search(unquoted[:found[0].start()] + unquoted[found[0].end():])):
        return None
    try:
        ra, dec, radius = (float(found[0].group(k)) for k in ("ra", "dec", "r"))
    except ValueError:
        return None
    return ra, dec, radius


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
