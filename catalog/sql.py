"""``galcat query sql``: one read-only statement, its rows as an astropy Table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from galcat.catalog.db import Database, QueryTimeout, ReadOnlyUnavailable, ReadOnlyViolation

if TYPE_CHECKING:
    from astropy.table import Table


class QueryError(Exception):
    """A query the database refused, with the database's own reason."""


@dataclass(frozen=True)
class Rows:
    """A query result: column names and row tuples."""

    names: list[str]
    rows: list[tuple[Any, ...]]

    def to_table(self) -> Table:
        return rows_to_table(self.names, self.rows)


def run_sql(db: Database, sql: str) -> Rows:
    """Run ``sql`` on a read-only connection; writes are refused and change nothing."""
    try:
        names, rows = db.readonly_query(sql)
    except ReadOnlyViolation as exc:
        raise QueryError(f"refused: {exc}") from exc
    except (QueryTimeout, ReadOnlyUnavailable) as exc:
        raise QueryError(str(exc)) from exc
    except sa.exc.DBAPIError as exc:
        raise QueryError(f"the database refused the query: {_reason(exc)}") from exc
    return Rows(names, rows)


def rows_to_table(names: list[str], rows: list[tuple[Any, ...]]) -> Table:
    """Columns typed from their values; NULLs become masked entries."""
    import numpy as np
    from astropy.table import Table

    table = Table()
    for i, name in enumerate(_unique(names)):
        values = [r[i] for r in rows]
        present = [v for v in values if v is not None]
        mask = np.array([v is None for v in values], dtype=bool)
        if present and all(isinstance(v, bool) for v in present):
            filled: list[Any] = [bool(v) if v is not None else False for v in values]
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            filled = [v if v is not None else 0 for v in values]
        elif present and all(isinstance(v, (int, float)) for v in present):
            filled = [float(v) if v is not None else np.nan for v in values]
        else:
            filled = ["" if v is None else _text(v) for v in values]
        column = np.array(filled) if rows else np.array([], dtype=float)
        table[name] = np.ma.MaskedArray(column, mask=mask) if mask.any() else column
    return table


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return str(value)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0)
        seen[name] = n + 1
        out.append(name if n == 0 else f"{name}_{n}")
    return out


def _reason(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
