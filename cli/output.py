"""How the CLI shows tables and outcomes: a rich table on a terminal; CSV when stdout is
a pipe or a file, so ``galcat query … | grep`` sees one whole row per line; or the
``--format`` asked for (table, csv, tsv, json). Errors go to stderr in one line."""

from __future__ import annotations

import csv
import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table as RichTable

from galcat.catalog.ingest.report import IngestSummary
from galcat.catalog.sql import Rows

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def fail(exc: Exception) -> NoReturn:
    """Print ``error: …`` on stderr and exit with status 1."""
    errors.print(f"error: {exc}", markup=False, highlight=False)
    raise typer.Exit(1)


TABLE_FORMATS = ("table", "csv", "tsv", "json")


def emit(result: Rows, fmt: str | None = None, title: str | None = None) -> None:
    """Print a table in ``fmt`` (default: ``table`` on a terminal, ``csv`` otherwise);
    csv, tsv and json carry every row at full precision."""
    chosen = fmt or ("table" if sys.stdout.isatty() else "csv")
    if chosen not in TABLE_FORMATS:
        errors.print(f"error: --format must be one of {', '.join(TABLE_FORMATS)}, not {chosen!r}",
                     markup=False, highlight=False)
        raise typer.Exit(2)
    if chosen == "table":
        show_rows(result, title=title)
    elif chosen == "json":
        records = [dict(zip(result.names, map(_plain, row), strict=True)) for row in result.rows]
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        writer = csv.writer(sys.stdout, delimiter="," if chosen == "csv" else "\t",
                            lineterminator="\n")
        writer.writerow(result.names)
        writer.writerows([["" if v is None else _plain(v) for v in row] for row in result.rows])
    sys.stdout.flush()


def _plain(value: Any) -> Any:
    """A value as JSON and CSV want it: numbers as numbers (NaN as None), bytes described."""
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _plain(value.item())
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def show_rows(result: Rows, title: str | None = None, max_rows: int = 50) -> None:
    """Print up to ``max_rows`` rows of a query result."""
    view = RichTable(title=title, show_lines=False)
    for name in result.names:
        view.add_column(name, overflow="fold")
    for row in result.rows[:max_rows]:
        view.add_row(*(_cell(v) for v in row))
    console.print(view)
    if len(result.rows) > max_rows:
        console.print(f"… {len(result.rows) - max_rows} more rows (use --out FILE for all)")
    console.print(f"{len(result.rows)} rows")


def save_rows(result: Rows, path: Path) -> None:
    """Write a query result to ``path`` in the format its suffix names, and say so."""
    from galcat.catalog.formats.tables import write_table

    write_table(result.to_table(), path)
    console.print(f"wrote {len(result.rows)} rows to {path}")


def show_ingest(summary: IngestSummary) -> None:
    """Per-file outcome lines, errors on stderr, and one summary line."""
    for outcome in summary.files:
        if outcome.ok:
            merged = f", {outcome.rows_merged} repeated rows merged" if outcome.rows_merged else ""
            console.print(f"[green]loaded[/] {outcome.path}: {outcome.rows_loaded} rows{merged}")
        else:
            errors.print(f"[red]refused[/] {outcome.path} (nothing from it was written):")
            for message in outcome.errors:
                errors.print(f"  {message}", markup=False, highlight=False)
    (console if summary.ok else errors).print(summary.describe())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.8g}"
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return str(value)
