"""``galcat``: the root command, its groups (one module each) and the console script.
Each command parses arguments and calls one function below it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from galcat.catalog.db import get_database
from galcat.catalog.settings import load_settings
from galcat.cli.environment import environment_app
from galcat.cli.evaluate import evaluate_app
from galcat.cli.fit import fit_app
from galcat.cli.infer import infer_app
from galcat.cli.ingest import ingest_app
from galcat.cli.jobs import jobs_app, worker
from galcat.cli.mock import mock_app
from galcat.cli.models import models_app
from galcat.cli.output import console, errors
from galcat.cli.plot import plot_app
from galcat.cli.query import query_app
from galcat.cli.release import release_app, serve
from galcat.cli.scan import scan_app
from galcat.cli.train import train_app

app = typer.Typer(
    help="galcat: deep-learning catalogs of galaxies and quasar absorbers.\n\n"
    "Example: galcat init && galcat query sql \"SELECT count(*) FROM galaxy\"",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
GROUPS = {"ingest": ingest_app, "query": query_app, "scan": scan_app, "train": train_app,
          "infer": infer_app, "jobs": jobs_app, "evaluate": evaluate_app, "mock": mock_app,
          "fit": fit_app, "models": models_app, "release": release_app, "plot": plot_app,
          "environment": environment_app}
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
app.command()(worker)
app.command()(serve)


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
    from galcat.catalog.schema_version import SCHEMA_HEAD, stored_revision
    from galcat.catalog.status import catalog_status

    settings = load_settings()
    if stored_revision(settings) is None and settings.is_sqlite:
        console.print(f"home      {settings.home}")
        console.print(f"database  {settings.database_url}")
        console.print(f"broker    {settings.broker_url}")
        console.print(f"schema    not initialised (run galcat init; head is {SCHEMA_HEAD})")
        return
    state = catalog_status(get_database(settings))
    console.print(f"home      {settings.home}")
    console.print(f"database  {state.database}")
    console.print(f"broker    {settings.broker_url}")
    console.print(f"schema    {state.revision or 'not initialised (run galcat init)'}"
                  f"{'' if state.up_to_date else f' (head is {state.head})'}")
    for name, count in state.row_counts.items():
        console.print(f"  {name:<14}{count:>10}")


@app.command()
def demo(
    home: Annotated[Path | None, typer.Option(help="Data directory (default GALCAT_HOME).")] = None,
    size: Annotated[str, typer.Option(help="small or medium.")] = "small",
) -> None:
    """Run galcat's main job end to end: mock survey, worker, inference, releases, plots.

    Example: galcat demo --size small
    """
    import os

    from galcat.workers.demo.pipeline import SIZES, print_summary, run_demo

    if size not in SIZES:
        errors.print(f"--size must be one of {', '.join(SIZES)}")
        raise typer.Exit(2)
    environ = dict(os.environ)
    if home is not None:
        environ["GALCAT_HOME"] = str(home)
    settings = load_settings(environ)
    report = run_demo(settings, size, console)
    print_summary(report, console, settings)


def main(argv: list[str] | None = None) -> int:
    """The ``galcat`` console script: run one command; a usage mistake is one line on
    stderr and exit status 2 (a traceback would be a bug). typer's own click is used
    without its standalone mode, whose usage errors are multi-line panels."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="galcat", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        console.print(exc.ctx.get_help() if exc.ctx else str(exc), markup=False, highlight=False)
        return 0
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
        errors.print(f"error: {message}{where}", markup=False, highlight=False)
        return exc.exit_code
    except typer.Abort:
        errors.print("aborted", markup=False)
        return 130
    return code if isinstance(code, int) else 0
