"""``galcat scan …``: the quick looks: files in, a table out, no catalogue needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galcat.cli.output import console, errors
from galcat.cli.shared import (
    Files,
    ModelOption,
    OutFile,
    dla_model,
    galaxy_model,
    report_files,
    require_inputs,
)

scan_app = typer.Typer(help="Quick look on files: run a model, write a table; no database.",
                       no_args_is_help=True)


@scan_app.command("dla")
def scan_dla(
    paths: Annotated[list[str], typer.Argument(help="Spectrum files, folders or globs.")],
    out: Annotated[Path, typer.Option(help="Absorber table (.csv/.fits/.vot/.parquet); "
                                      "sightlines go to <out>_sightlines.")] = Path("dlas.csv"),
    model: ModelOption = None,
    z_qso: Annotated[float | None, typer.Option(help="Quasar redshift for plain tables.")] = None,
) -> None:
    """Quick look: find DLAs in spectrum files without a database.

    Example: galcat scan dla ../shared/data/boss/ --out dlas.csv
    """
    from galcat.workers.dla.scan import scan_dla as run

    require_inputs(paths)
    window_model, network, _ = dla_model(model)
    result = run(paths, out, window_model, network, z_qso)
    for message in result.errors:
        errors.print(f"skipped {message}", markup=False, highlight=False)
    console.print(f"searched {result.n_spectra} spectra, found {result.n_absorbers} absorbers: "
                  f"{result.absorbers_path} (where it looked: {result.sightlines_path})")
    if result.n_repeats:
        console.print(f"{result.n_repeats} repeat observations set aside: each quasar "
                      "(THING_ID) is searched in its highest-S/N spectrum")
    if result.errors:
        errors.print(f"{len(result.errors)} files could not be read")
        raise typer.Exit(1)


@scan_app.command("sersic")
def scan_sersic(
    files: Files,
    out: OutFile,
    model: ModelOption = None,
) -> None:
    """Quick look: Sérsic parameters of image files into a table, no database writes.

    Example: galcat scan sersic cutouts/*.fits --out sersic.csv --model sersic@1
    """
    _scan("sersic", files, out, model)


@scan_app.command("morphology")
def scan_morphology(
    files: Files,
    out: OutFile,
    model: ModelOption = None,
) -> None:
    """Quick look: morphology of image files into a table, no database writes.

    Example: galcat scan morphology cutouts/*.fits --out morphology.csv
    """
    _scan("morphology", files, out, model)


def _scan(task: str, files: list[Path], out: Path, model: str | None) -> None:
    from galcat.workers.galaxy.scan import scan_files

    require_inputs(files)
    opened = galaxy_model(task, model)
    report_files(scan_files(task, files, out, opened.model, opened.label))
