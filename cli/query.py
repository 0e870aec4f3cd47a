"""``galcat query …``: read-only cone search and SQL, printed or written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galcat.catalog.sql import Rows
from galcat.cli.output import emit, errors, save_rows
from galcat.cli.shared import TableFormat, ready_database

query_app = typer.Typer(help="Read-only queries: cone search and SQL.", no_args_is_help=True)


@query_app.command("cone")
def query_cone(
    ra: Annotated[float, typer.Argument(help="Centre RA, degrees (ICRS).")],
    dec: Annotated[float, typer.Argument(help="Centre Dec, degrees (ICRS).")],
    radius: Annotated[float, typer.Argument(help="Radius, degrees.")],
    table: Annotated[str, typer.Option(help="galaxy or sightline.")] = "galaxy",
    limit: Annotated[int | None, typer.Option(help="At most this many rows, nearest.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to .fits/.csv/.vot/.parquet.")] = None,
    fmt: TableFormat = None,
) -> None:
    """Objects within RADIUS degrees of (RA, DEC), nearest first.

    Example: galcat query cone 150.1 2.2 0.05 --table galaxy --out cone.csv
    """
    from galcat.catalog.sky import CONE_SUMMARY_COLUMNS, cone

    db = ready_database()
    columns = None if out else CONE_SUMMARY_COLUMNS.get(table)
    try:
        with db.new_session() as session:
            rows = cone(session, table, ra, dec, radius, columns=columns, limit=limit)
    except ValueError as exc:
        errors.print(f"error: {exc}")
        raise typer.Exit(2) from None
    names = list(rows[0]) if rows else ["id", "ra_deg", "dec_deg", "distance_deg"]
    result = Rows(names, [tuple(r.values()) for r in rows])
    _show_or_save(result, out, f"{table} within {radius}° of ({ra}, {dec})", fmt)


@query_app.command("sql")
def query_sql(
    sql: Annotated[str, typer.Argument(help="One SELECT statement.")],
    out: Annotated[Path | None, typer.Option(help="Write to .fits/.csv/.vot/.parquet.")] = None,
    fmt: TableFormat = None,
) -> None:
    """Run one read-only SQL statement; anything that writes is refused.

    Example: galcat query sql "SELECT survey_id, count(*) FROM galaxy GROUP BY survey_id"
    """
    from galcat.catalog.sql import QueryError, run_sql

    try:
        result = run_sql(ready_database(), sql)
    except QueryError as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    _show_or_save(result, out, None, fmt)


def _show_or_save(result: Rows, out: Path | None, title: str | None,
                  fmt: str | None) -> None:
    if out is None:
        emit(result, fmt, title=title)
    else:
        save_rows(result, out)
