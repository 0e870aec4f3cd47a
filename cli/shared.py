"""What every command group shares: the catalogue it opens, the options that mean the
same everywhere (``--model``, ``--wait``, ``--local``, ``--format``, ``--out``, …), how a
job is submitted and reported, and how a model is opened for a scan or an evaluation."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from galcat.catalog.db import Database, get_database
from galcat.catalog.schema_version import SCHEMA_HEAD, stored_revision
from galcat.catalog.settings import load_settings
from galcat.cli.output import console, errors, fail

WaitOption = Annotated[bool, typer.Option("--wait", help="Show progress until the job ends.")]
LocalOption = Annotated[bool, typer.Option("--local", help="Run in this process, no worker.")]
ModelOption = Annotated[str | None, typer.Option(
    "--model", help="A registered model (NAME or NAME@N), an exported model folder or a "
    ".keras file; default: the model shipped with galcat.")]
Files = Annotated[list[Path], typer.Argument(help="Image files or folders.")]
OutFile = Annotated[Path, typer.Option("--out", help="Table to write (.csv, .ecsv, .fits, …).")]
SeedOption = Annotated[int, typer.Option(help="Seed of mocks, weights and shuffling.")]
NOption = Annotated[int, typer.Option("--n", help="Training mocks.")]
NEvalOption = Annotated[int, typer.Option(help="Held-out mocks scored after training.")]
FiltersOption = Annotated[str, typer.Option(help="Convolution filters per stage, comma-separated.")]
BatchOption = Annotated[int, typer.Option(help="Batch size.")]
RateOption = Annotated[float, typer.Option(help="Adam learning rate.")]
TableFormat = Annotated[str | None, typer.Option(
    "--format", help="table, csv, tsv or json (default: table on a terminal, csv in a pipe).")]


def database() -> Database:
    """The catalogue of the environment's settings (created by ``galcat init``)."""
    return get_database(load_settings())


def ready_database() -> Database:
    """The catalogue, checked to be at this code's schema revision (exit 2 otherwise;
    a SQLite file that does not exist yet is not created)."""
    settings = load_settings()
    revision = stored_revision(settings)
    if revision != SCHEMA_HEAD:
        where = settings.database_url
        if settings.is_sqlite:
            where = str(Path(where.split(":///", 1)[-1]))
        state = "no galcat catalogue" if revision is None else f"schema revision {revision}"
        errors.print(f"error: {where}: {state}, not {SCHEMA_HEAD}; run `galcat init` first",
                     markup=False, highlight=False)
        raise typer.Exit(2)
    return get_database(settings)


def require_inputs(paths: Sequence[str | Path]) -> None:
    """Exit with one line when no input exists at all (no file, folder or glob match),
    before any model or database is opened; a batch with some inputs missing goes on,
    and its report names each one it could not read."""
    missing = [str(p) for p in paths if not _exists(str(p))]
    if paths and len(missing) == len(paths):
        what = f"{missing[0]}: no such file or folder" if len(missing) == 1 else \
            f"none of the inputs exist ({', '.join(missing)})"
        errors.print(f"error: {what}", markup=False, highlight=False)
        raise typer.Exit(1)


def _exists(text: str) -> bool:
    path = os.path.expanduser(text)
    return Path(path).exists() or (any(c in text for c in "*?[") and bool(glob.glob(path)))


def submit_job(spec: Any, wait: bool, local: bool) -> None:
    """Queue ``spec`` (or, with ``local``, run it here) and report it."""
    from galcat.catalog.registry import RegistryError, resolve
    from galcat.workers.handlers import HANDLERS
    from galcat.workers.queue.jobs import JobError, submit
    from galcat.workers.queue.local import run_locally

    db = ready_database()
    settings = load_settings()
    try:
        if spec.model_reference:
            with db.new_session() as session:
                resolve(session, spec.model_reference)
        handle = run_locally(settings, spec, HANDLERS) if local else submit(spec, settings)
    except (JobError, RegistryError) as exc:
        fail(exc)
    report_job(handle, wait or local)


def report_job(handle: Any, wait: bool) -> None:
    """Say the job is queued, or (``wait``) show its progress and exit 1 unless it is done."""
    if not wait:
        console.print(f"job {handle.id} queued; watch it with `galcat jobs show {handle.id}`")
        return
    state = handle.wait(progress=True)
    if state.state != "done":
        errors.print(f"job {handle.id} {state.state}: {state.error or state.message}",
                     markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(f"job {handle.id} done: {state.message or ''}", markup=False)


def dla_model(model: str | None) -> tuple[Any, Any, Any]:
    """(window model, network config, opened model) of ``--model`` (None: the shipped one);
    a model that cannot be opened is one error line."""
    from galcat.workers.dla.scan import open_dla
    from galcat.workers.model_io import ModelNotFound

    try:
        return open_dla(load_settings(), model)
    except ModelNotFound as exc:
        fail(exc)


def galaxy_model(task: str, model: str | None) -> Any:
    """The opened ``task`` model of ``--model`` (None: the shipped one), or one error line."""
    from galcat.workers.galaxy.scan import open_galaxy_model
    from galcat.workers.model_io import ModelNotFound

    try:
        return open_galaxy_model(load_settings(), model, task)
    except ModelNotFound as exc:
        fail(exc)


def report_files(result: Any) -> None:
    """Per-file refusals on stderr, the table written, and exit 1 when anything was refused
    or nothing written."""
    for message in result.errors:
        errors.print(f"refused {message}", markup=False, highlight=False)
    if result.rows:
        console.print(f"wrote {result.rows} rows to {result.out}", markup=False)
    if not result.ok or not result.rows:
        errors.print(f"{len(result.errors)} files refused; {result.rows} rows written"
                     if result.errors else "no image files found (.fits, .png, .jpg, .npy)",
                     markup=False)
        raise typer.Exit(1)
