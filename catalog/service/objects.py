"""Object pages: what a science view gives the service for one row of a release, and
the release rows it reads them from.

The service knows no science: an ``ObjectView`` for a catalogue (built in
``galcat.workers``, where catalogue rows meet the models' pure functions) turns one
row of a release's main table into an ``ObjectPage`` (values with errors, figure
names and captions, small tables) and draws each figure as PNG bytes. The rows come
from the release's own pinned query, so a page shows exactly what the release files
hold.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.definitions import TableDef, catalogue
from galcat.catalog.release.query import select_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

Row = dict[str, Any]
PREVIEW_ROWS = 50
"""Rows of the main table a release page lists, each linked to its object page."""


@dataclass(frozen=True)
class Value:
    """One catalogue value, its 1σ error when the table has one (``<name>_err``), unit."""

    name: str
    value: Any
    error: float | None = None
    unit: str = ""
    description: str = ""


@dataclass(frozen=True)
class Figure:
    """A figure of an object page, served as ``<name>.png``; ``missing`` says why there
    is none (then the page prints it in the figure's place)."""

    name: str
    caption: str
    missing: str = ""


@dataclass(frozen=True)
class Listing:
    """A small table on an object page; ``object_ids[i]`` links row i to its page."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    object_ids: tuple[int | None, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ObjectPage:
    """What an object page shows, top to bottom."""

    title: str
    summary: str
    figures: Sequence[Figure]
    values: Sequence[Value]
    listings: Sequence[Listing] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)


class ObjectView(Protocol):
    """Pages for the rows of one catalogue's main table (``catalogue``: its name)."""

    catalogue: str
    noun: str
    """What one row is, e.g. ``absorber`` (for messages and link titles)."""
    preview_columns: tuple[str, ...]
    """Columns the release page lists beside each row's link."""

    def page(self, connection: sa.Connection, record: ReleaseRecord, row: Row) -> ObjectPage:
        """The page of ``row`` (a row of the release's main table, public names)."""
        ...

    def figure(self, connection: sa.Connection, record: ReleaseRecord, row: Row,
               name: str) -> bytes | None:
        """Figure ``name`` of ``row`` as PNG bytes; None when the view has no such figure
        or its data are missing (the page says which)."""
        ...


def main_table(record: ReleaseRecord) -> TableDef:
    """The release's main table, whose rows have object pages."""
    return catalogue(record.catalogue).main


def release_row(connection: sa.Connection, record: ReleaseRecord, object_id: int) -> Row | None:
    """The row of the release's main table whose main id is ``object_id``, or None."""
    table = main_table(record)
    stmt = select_rows(record.pinned, table)
    stmt = stmt.where(stmt.selected_columns[table.main_id] == object_id)
    found = connection.execute(stmt).first()
    return None if found is None else dict(found._mapping)


def release_rows(connection: sa.Connection, record: ReleaseRecord, table_name: str,
                 positions: Sequence[int] | None = None, limit: int | None = None) -> list[Row]:
    """Rows of one of the release's tables in key order, optionally only those on the
    positional rows ``positions`` (sightline or galaxy ids) or the first ``limit``."""
    table = catalogue(record.catalogue).table(table_name)
    stmt = select_rows(record.pinned, table, None if positions is None else list(positions))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r._mapping) for r in connection.execute(stmt)]


def preview_rows(connection: sa.Connection, record: ReleaseRecord,
                 limit: int = PREVIEW_ROWS) -> list[Row]:
    """The first ``limit`` rows of the release's main table, in key order."""
    return release_rows(connection, record, main_table(record).name, limit=limit)


def default_preview_columns(record: ReleaseRecord, n: int = 8) -> tuple[str, ...]:
    """The main id, position and the next columns that are neither ids nor errors, ``n``
    in all: what a release page lists for a catalogue without an object view."""
    table = main_table(record)
    rest = [c.name for c in table.columns
            if c.name not in (table.main_id, "ra", "dec") and not c.name.endswith("_err")
            and not c.ucd.startswith(("meta.", "instr.", "time."))]
    return (table.main_id, "ra", "dec", *rest[: n - 3])


def values_with_errors(table: TableDef, row: Mapping[str, Any],
                       names: Sequence[str] | None = None) -> list[Value]:
    """``row``'s columns (or ``names``) as values, each with its ``<name>_err`` column
    as the error; the error columns are not listed on their own."""
    errors = {c.name for c in table.columns if c.name.endswith("_err")}
    out = []
    for name in names or [c.name for c in table.columns if c.name not in errors]:
        column = table.column(name)
        error = row.get(f"{name}_err")
        out.append(Value(name, row.get(name), None if error is None else float(error),
                         column.unit, column.description))
    return out


def png_bytes(figure: MplFigure) -> bytes:
    """A matplotlib figure (Agg) as PNG bytes without a timestamp or software tag."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def new_figure(width_in: float, height_in: float, dpi: int = 90) -> MplFigure:
    """An empty matplotlib figure on the Agg canvas (no pyplot, safe in threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure
