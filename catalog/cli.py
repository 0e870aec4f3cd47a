"""``galcat``: the front door. Each command parses arguments and calls one function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galcat.catalog.cli_jobs import (
    infer_app,
    jobs_app,
    models_export,
    models_list,
    train_app,
    worker,
)
from galcat.catalog.cli_output import console, errors, save_rows, show_ingest, show_rows
from galcat.catalog.db import Database, get_database
from galcat.catalog.settings import load_settings
from galcat.catalog.sql import Rows

app = typer.Typer(
    help="galcat: deep-learning catalogs of galaxies and quasar absorbers.\n\n"
    "Example: galcat init && galcat query sql \"SELECT count(*) FROM galaxy\"",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load survey files into the catalog.", no_args_is_help=True)
query_app = typer.Typer(help="Read-only queries: cone search and SQL.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(query_app, name="query")
scan_app = typer.Typer(help="Quick look on files: run a model, write a table; no database.",
                       no_args_is_help=True)
evaluate_app = typer.Typer(help="Score a model on held-out mocks: tables and PNG plots.",
                           no_args_is_help=True)
mock_app = typer.Typer(help="Write mock survey files with their truth tables.",
                       no_args_is_help=True)
fit_app = typer.Typer(help="Classic least-squares fits (baselines for the networks).",
                      no_args_is_help=True)
models_app = typer.Typer(help="Registered model versions.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(train_app, name="train")
app.add_typer(infer_app, name="infer")
app.add_typer(scan_app, name="scan")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(mock_app, name="mock")
app.add_typer(fit_app, name="fit")
app.add_typer(models_app, name="models")
app.command()(worker)
models_app.command("list")(models_list)
models_app.command("export")(models_export)
SUBCOMMANDS = {"ingest": ingest_app, "train": train_app, "infer": infer_app, "scan": scan_app,
               "evaluate": evaluate_app, "mock": mock_app, "fit": fit_app, "models": models_app}
try:
    from galcat.catalog.cli_release import register_release
except ModuleNotFoundError as _exc:
    if _exc.name != "galcat.catalog.cli_release":
        raise
else:
    register_release(app)
for _science in ("galcat.catalog.cli_dla", "galcat.catalog.cli_galaxy"):
    try:
        __import__(_science, fromlist=["register"]).register(SUBCOMMANDS)
    except ModuleNotFoundError as _exc:
        if _exc.name != _science:
            raise


def _database() -> Database:
    return get_database(load_settings())


def _ready_database() -> Database:
    from galcat.catalog.schema_version import SCHEMA_HEAD, schema_revision

    db = _database()
    revision = schema_revision(db)
    if revision != SCHEMA_HEAD:
        errors.print(
            f"The catalog at {db.engine.url.render_as_string(hide_password=True)} is at "
            f"schema revision {revision}, not {SCHEMA_HEAD}: run `galcat init` first."
        )
        raise typer.Exit(2)
    return db


@app.command()
def init() -> None:
    """Create or upgrade the catalog schema (Alembic, to head).

    Example: GALCAT_DATABASE_URL=postgresql://postgres@127.0.0.1/test galcat init
    """
    from galcat.catalog import migrate
    from galcat.catalog.access import ensure_readonly_role
    from galcat.catalog.status import catalog_status
    from galcat.workers.registry import register_shipped

    settings = load_settings()
    db = get_database(settings)
    migrate.upgrade(db)
    role = ensure_readonly_role(db, settings.readonly_role)
    if role:
        console.print(f"read-only role {role} ready for public queries and galcat serve")
    with db.session() as session:
        for version in register_shipped(session, settings.artifacts_dir):
            console.print(f"registered shipped model {version.name}@{version.version}")
    status = catalog_status(db)
    console.print(f"catalog ready at {status.database} (schema revision {status.revision})")


@app.command()
def status() -> None:
    """Show the database, broker, schema revision and row counts.

    Example: galcat status
    """
    from galcat.catalog.status import catalog_status

    settings = load_settings()
    state = catalog_status(get_database(settings))
    console.print(f"home      {settings.home}")
    console.print(f"database  {state.database}")
    console.print(f"broker    {settings.broker_url}")
    console.print(f"schema    {state.revision or 'not initialised (run galcat init)'}"
                  f"{'' if state.up_to_date else f' (head is {state.head})'}")
    for name, count in state.row_counts.items():
        console.print(f"  {name:<14}{count:>10}")


@ingest_app.command("catalog")
def ingest_catalog(
    files: Annotated[list[Path], typer.Argument(help="FITS, VOTable, ECSV, CSV or Parquet.")],
    kind: Annotated[str, typer.Option(help="What one row is: galaxy or sightline.")] = "galaxy",
    survey: Annotated[str | None, typer.Option(help="Survey name (default: file name).")] = None,
    ra: Annotated[str | None, typer.Option("--ra", help="RA column (degrees or h:m:s).")] = None,
    dec: Annotated[str | None, typer.Option("--dec", help="Dec column (degrees or d:m:s).")] = None,
    id: Annotated[str | None, typer.Option("--id", help="Object id column.")] = None,
) -> None:
    """Load galaxy or quasar-sightline tables; each file loads whole or not at all.

    Example: galcat ingest catalog dr7_dlas.fits --kind sightline --survey sdss-dr7
    """
    from galcat.catalog.ingest.tables import ingest_catalog as run

    summary = run(_ready_database(), files, kind, survey, ra, dec, id)
    show_ingest(summary)
    if not summary.ok:
        raise typer.Exit(1)


@query_app.command("cone")
def query_cone(
    ra: Annotated[float, typer.Argument(help="Centre RA, degrees (ICRS).")],
    dec: Annotated[float, typer.Argument(help="Centre Dec, degrees (ICRS).")],
    radius: Annotated[float, typer.Argument(help="Radius, degrees.")],
    table: Annotated[str, typer.Option(help="galaxy or sightline.")] = "galaxy",
    limit: Annotated[int | None, typer.Option(help="At most this many rows, nearest.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to .fits/.csv/.vot/.parquet.")] = None,
) -> None:
    """Objects within RADIUS degrees of (RA, DEC), nearest first.

    Example: galcat query cone 150.1 2.2 0.05 --table galaxy --out cone.csv
    """
    from galcat.catalog.sky import CONE_SUMMARY_COLUMNS, cone

    db = _ready_database()
    columns = None if out else CONE_SUMMARY_COLUMNS.get(table)
    try:
        with db.new_session() as session:
            rows = cone(session, table, ra, dec, radius, columns=columns, limit=limit)
    except ValueError as exc:
        errors.print(f"error: {exc}")
        raise typer.Exit(2) from None
    names = list(rows[0]) if rows else ["id", "ra_deg", "dec_deg", "distance_deg"]
    result = Rows(names, [tuple(r.values()) for r in rows])
    _show_or_save(result, out, f"{table} within {radius}° of ({ra}, {dec})")


@query_app.command("sql")
def query_sql(
    sql: Annotated[str, typer.Argument(help="One SELECT statement.")],
    out: Annotated[Path | None, typer.Option(help="Write to .fits/.csv/.vot/.parquet.")] = None,
) -> None:
    """Run one read-only SQL statement; anything that writes is refused.

    Example: galcat query sql "SELECT survey_id, count(*) FROM galaxy GROUP BY survey_id"
    """
    from galcat.catalog.sql import QueryError, run_sql

    try:
        result = run_sql(_ready_database(), sql)
    except QueryError as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    _show_or_save(result, out, None)


@app.command()
def demo(
    home: Annotated[Path | None, typer.Option(help="Data directory (default GALCAT_HOME).")] = None,
    size: Annotated[str, typer.Option(help="small or medium.")] = "small",
) -> None:
    """Run galcat's main job end to end: mock survey, worker, inference, releases, plots.

    Example: galcat demo --size small
    """
    import os

    from galcat.workers.demo import SIZES, print_summary, run_demo

    if size not in SIZES:
        errors.print(f"--size must be one of {', '.join(SIZES)}")
        raise typer.Exit(2)
    environ = dict(os.environ)
    if home is not None:
        environ["GALCAT_HOME"] = str(home)
    settings = load_settings(environ)
    report = run_demo(settings, size, console)
    print_summary(report, console, settings)


def _show_or_save(result: Rows, out: Path | None, title: str | None) -> None:
    if out is None:
        show_rows(result, title=title)
    else:
        save_rows(result, out)


def main() -> None:
    """Console-script entry point."""
    app()
