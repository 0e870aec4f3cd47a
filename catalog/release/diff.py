"""``galcat release diff``: rows added, removed and changed between two releases, by key.

Both releases' pinned queries are streamed in key order and merged, so memory
does not grow with the catalogue. A row is *changed* when a compared column
differs: floats by more than ``atol`` (absolute) or null on one side only, other
types when unequal. Identifier columns (UCD ``meta.id*``) are not compared:
``absorber_id`` is a row id of its model version, not a property of the absorber.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from galcat.catalog.db import Database
from galcat.catalog.release.build import ReleaseError, load_release
from galcat.catalog.release.definitions import TableDef, catalogue
from galcat.catalog.release.query import CHUNK_ROWS, Pinned, select_rows


@dataclass
class TableDiff:
    """How one table of release B differs from release A."""

    table: str
    key: tuple[str, ...]
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0
    changed_columns: dict[str, int] = field(default_factory=dict)
    """column -> rows in which it changed"""
    max_abs_change: dict[str, float] = field(default_factory=dict)
    """float column -> largest absolute change among matched rows"""
    examples: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    """'added' / 'removed' / 'changed' -> the first few keys"""


def diff_releases(db: Database, tag_a: str, tag_b: str, atol: float = 1e-6,
                  max_examples: int = 5) -> list[TableDiff]:
    """Per table: what release ``tag_b`` adds, removes and changes relative to ``tag_a``."""
    a, b = load_release(db, tag_a), load_release(db, tag_b)
    if a.catalogue != b.catalogue:
        raise ReleaseError(f"{tag_a} is a {a.catalogue} release and {tag_b} a {b.catalogue} "
                           "release: only releases of the same catalogue can be compared")
    if not atol >= 0:
        raise ReleaseError(f"tolerance {atol} must be a non-negative number")
    out = []
    with db.readonly_engine.connect() as left, db.readonly_engine.connect() as right:
        for table in catalogue(a.catalogue).tables:
            out.append(diff_table(table, _rows(left, a.pinned, table),
                                  _rows(right, b.pinned, table), atol, max_examples))
    return out


def diff_table(table: TableDef, rows_a: Iterator[tuple[Any, ...]],
               rows_b: Iterator[tuple[Any, ...]], atol: float, max_examples: int) -> TableDiff:
    """Merge two key-ordered row streams of ``table``."""
    names = table.names
    keys = [names.index(k) for k in table.key]
    compared = [(i, c) for i, c in enumerate(table.columns)
                if c.name not in table.key and not c.ucd.startswith("meta.id")]
    result = TableDiff(table.name, table.key, examples={"added": [], "removed": [],
                                                        "changed": []})

    def note(kind: str, key: tuple[Any, ...]) -> None:
        if len(result.examples[kind]) < max_examples:
            result.examples[kind].append(key)

    row_a, row_b = next(rows_a, None), next(rows_b, None)
    while row_a is not None or row_b is not None:
        key_a = tuple(row_a[i] for i in keys) if row_a is not None else None
        key_b = tuple(row_b[i] for i in keys) if row_b is not None else None
        if key_b is None or (key_a is not None and key_a < key_b):
            result.removed += 1
            note("removed", key_a)  # type: ignore[arg-type]
            row_a = next(rows_a, None)
            continue
        if key_a is None or key_b < key_a:
            result.added += 1
            note("added", key_b)
            row_b = next(rows_b, None)
            continue
        assert row_a is not None and row_b is not None
        changed = False
        for i, column in compared:
            va, vb = row_a[i], row_b[i]
            if column.dtype == "float64":
                differs, size = _float_change(va, vb, atol)
                if size is not None:
                    top = result.max_abs_change.get(column.name, 0.0)
                    result.max_abs_change[column.name] = max(top, size)
            else:
                differs = va != vb
            if differs:
                changed = True
                result.changed_columns[column.name] = result.changed_columns.get(column.name,
                                                                                 0) + 1
        if changed:
            result.changed += 1
            note("changed", key_a)
        else:
            result.unchanged += 1
        row_a, row_b = next(rows_a, None), next(rows_b, None)
    return result


def _float_change(a: Any, b: Any, atol: float) -> tuple[bool, float | None]:
    a_null = a is None or math.isnan(a)
    b_null = b is None or math.isnan(b)
    if a_null or b_null:
        return a_null != b_null, None
    size = abs(float(a) - float(b))
    return size > atol, size


def _rows(connection: sa.Connection, pinned: Pinned, table: TableDef
          ) -> Iterator[tuple[Any, ...]]:
    result = connection.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(
        select_rows(pinned, table))
    for row in result:
        yield tuple(row)
