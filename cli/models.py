"""``galcat models …``: registered model versions and their provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galcat.catalog.settings import load_settings
from galcat.catalog.sql import Rows
from galcat.cli.output import console, emit, fail
from galcat.cli.shared import TableFormat, ready_database

models_app = typer.Typer(help="Registered model versions.", no_args_is_help=True)


@models_app.command("list")
def models_list(fmt: TableFormat = None) -> None:
    """Registered model versions with their training provenance.

    Example: galcat models list --format csv
    """
    import sqlalchemy as sa

    from galcat.catalog.schema import ModelVersion

    with ready_database().new_session() as session:
        versions = session.execute(sa.select(ModelVersion).order_by(
            ModelVersion.name, ModelVersion.version)).scalars().all()
        rows = [(f"{v.name}@{v.version}", v.task, v.weights_sha256,
                 v.training_fingerprint or "", f"{v.created_at:%Y-%m-%d %H:%M}", v.command or "")
                for v in versions]
    emit(Rows(["model", "task", "weights_sha256", "training_fingerprint", "created_utc",
               "command"], rows), fmt, title="models")


@models_app.command("export")
def models_export(
    reference: Annotated[str, typer.Argument(help="Model reference, e.g. dla@1.")],
    out: Annotated[Path, typer.Option(help="Folder for weights + model.json.")],
) -> None:
    """Write a model version's weights and provenance record to a folder (to ship it).

    Example: galcat models export dla@1 --out models/shipped/dla
    """
    from galcat.catalog.registry import RegistryError
    from galcat.workers.registry import export_model

    settings = load_settings()
    try:
        with ready_database().new_session() as session:
            path = export_model(session, settings.artifacts_dir, reference, out)
    except RegistryError as exc:
        fail(exc)
    console.print(f"wrote {path}")
