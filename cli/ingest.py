"""``galcat ingest …``: load survey files into the catalogue, one transaction per file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from galcat.cli.output import console, errors, fail, show_ingest
from galcat.cli.shared import Files, ready_database, require_inputs

if TYPE_CHECKING:
    from galcat.catalog.ingest.report import IngestSummary
    from galcat.workers.queue.specs import IngestFiles

ingest_app = typer.Typer(help="Load survey files into the catalog.", no_args_is_help=True)

JobsOption = Annotated[bool, typer.Option(
    "--jobs", help="Fan the files out as shard jobs that any running `galcat worker` takes "
    "(workers must see the files at the same paths); waits and reports as without it.")]
ShardFilesOption = Annotated[int, typer.Option(
    min=1, help="Files per shard job with --jobs.")]


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

    require_inputs(files)
    summary = run(ready_database(), files, kind, survey, ra, dec, id)
    show_ingest(summary)
    if not summary.ok:
        raise typer.Exit(1)


@ingest_app.command("spectra")
def ingest_spectra(
    paths: Annotated[list[str], typer.Argument(help="spec-*.fits / spSpec-*.fit files, folders "
                                               "or globs; or tables with wavelength, flux, ivar.")],
    survey: Annotated[str | None, typer.Option(help="Survey name (default by format).")] = None,
    z_qso: Annotated[float | None, typer.Option(help="Quasar redshift for plain tables.")] = None,
    jobs: JobsOption = False,
    shard_files: ShardFilesOption = 500,
) -> None:
    """Load quasar spectra; two observations of one quasar become one sightline.

    Example: galcat ingest spectra ../shared/data/boss/
    """
    from galcat.catalog.ingest.spectra import ingest_spectra as run
    from galcat.workers.queue.specs import IngestFiles

    require_inputs(paths)
    if jobs:
        summary = _through_workers(IngestFiles(what="spectra", paths=_absolute(paths),
                                               survey=survey, z_qso=z_qso,
                                               shard_files=shard_files))
    else:
        summary = run(ready_database(), paths, survey, z_qso)
    show_ingest(summary)
    if not summary.ok:
        raise typer.Exit(1)


@ingest_app.command("images")
def ingest_images(
    files: Files,
    survey: Annotated[str | None, typer.Option(help="Imaging survey of the images.")] = None,
    catalog: Annotated[Path | None, typer.Option(
        help="Table joining files to galaxies (position) and labels.")] = None,
    label_set: Annotated[str | None, typer.Option(
        help="Label set for the catalogue's columns (default: its file name).")] = None,
    hdu: Annotated[str | None, typer.Option(help="FITS HDU name or number.")] = None,
    jobs: JobsOption = False,
    shard_files: ShardFilesOption = 500,
) -> None:
    """Load galaxy cutouts (FITS, PNG/JPEG, .npy); each image loads whole or not at all.

    Example: galcat ingest images rings/*.png --catalog rings.csv --survey legacy-dr9
    """
    from galcat.catalog.formats.errors import InputError, InputErrors
    from galcat.catalog.formats.tables import TableFormatError
    from galcat.catalog.ingest.images import ingest_images as run
    from galcat.workers.queue.specs import IngestFiles

    chosen: int | str | None = int(hdu) if hdu is not None and hdu.isdigit() else hdu
    require_inputs(files)
    if jobs:
        if catalog is not None or label_set is not None or hdu is not None:
            fail(ValueError("--jobs loads images with --survey only; load with --catalog, "
                            "--label-set or --hdu in one process (without --jobs)"))
        summary_of_jobs = _through_workers(IngestFiles(
            what="images", paths=_absolute([str(f) for f in files]), survey=survey,
            shard_files=shard_files))
        show_ingest(summary_of_jobs)
        if not summary_of_jobs.ok:
            raise typer.Exit(1)
        return
    try:
        summary = run(ready_database(), files, survey, catalog, label_set, chosen)
    except InputErrors as exc:
        fail(Exception("; ".join(str(e) for e in exc.errors)))
    except (InputError, TableFormatError) as exc:
        fail(exc)
    for companion, image in summary.attached.items():
        console.print(f"attached {companion} to {image}", markup=False, highlight=False)
    show_ingest(summary)
    if catalog is not None:
        console.print(f"{summary.linked} images linked to galaxies; "
                      f"{len(summary.unmatched)} matched no row of {catalog}", markup=False)
    if not summary.ok:
        raise typer.Exit(1)


@ingest_app.command("labels")
def ingest_labels(
    files: Annotated[list[Path], typer.Argument(help="Label tables (CSV, FITS, …).")],
    label_set: Annotated[str, typer.Option("--set", help="Label set name.")],
    kind: Annotated[str, typer.Option(help="What one row labels: galaxy or image.")] = "galaxy",
    style: Annotated[str, typer.Option(
        help="auto, gz2, candels, sersic or columns.")] = "auto",
    id: Annotated[str | None, typer.Option("--id", help="Object id column.")] = None,
    survey: Annotated[str | None, typer.Option(help="Survey of the galaxies.")] = None,
    gz2_variant: Annotated[str | None, typer.Option(
        help="GZ2 columns to read: fraction, weighted_fraction or debiased.")] = None,
    re_unit: Annotated[str | None, typer.Option(help="Sérsic radii in arcsec or pixel.")] = None,
    pixel_scale: Annotated[float | None, typer.Option(
        help="Arcsec per pixel, for radii in pixels.")] = None,
) -> None:
    """Load vote fractions (GZ2, CANDELS) or Sérsic fits as labels of galaxies or images.

    Example: galcat ingest labels training_solutions_rev1.csv --set gz2 --kind image
    """
    from galcat.catalog.ingest.labels import LabelOutcome
    from galcat.catalog.ingest.labels import ingest_labels as run

    require_inputs(files)
    try:
        summary = run(ready_database(), files, label_set, kind, style=style, id_col=id,
                      survey=survey, gz2_variant=gz2_variant, re_unit=re_unit,
                      pixel_scale_arcsec=pixel_scale)
    except ValueError as exc:
        fail(exc)
    show_ingest(summary)
    for outcome in summary.files:
        if outcome.ok and isinstance(outcome, LabelOutcome):
            console.print(f"{outcome.path}: read as {outcome.style}; {outcome.unmatched} rows "
                          f"matched no {kind}", markup=False, highlight=False)
    if not summary.ok:
        raise typer.Exit(1)


@ingest_app.command("simulation")
def ingest_simulation(
    manifests: Annotated[list[Path], typer.Argument(
        help="Simulation manifests (YAML, format galcat-simulation/1; see docs/simulations.md).")],
    replace: Annotated[bool, typer.Option(
        help="Replace a simulation of the same name ingested from another manifest.")] = False,
) -> None:
    """Load simulated galaxies: snapshots with their physical metadata, and one image per
    camera; each manifest loads whole or not at all.

    Example: galcat ingest simulation mocks/MOCK-7/manifest.yaml
    """
    from galcat.catalog.ingest.simulations import ingest_simulations

    require_inputs(manifests)
    summary = ingest_simulations(ready_database(), manifests, replace=replace)
    show_ingest(summary)
    if not summary.ok:
        raise typer.Exit(1)


def _absolute(paths: list[str]) -> tuple[str, ...]:
    """Paths and globs made absolute, as a worker in another folder must see them."""
    return tuple(str(Path(p).resolve()) if Path(p).exists() else os.path.abspath(p)
                 for p in paths)


def _through_workers(spec: IngestFiles) -> IngestSummary:
    """Submit ``spec``, show its progress, and return every file's outcome."""
    from galcat.workers.ingest.files import ingest_outcomes
    from galcat.workers.queue.jobs import submit

    ready_database()
    handle = submit(spec)
    console.print(f"job {handle.id}: {spec.what} files fanned out to workers", markup=False)
    state = handle.wait(progress=True)
    if state.state != "done":
        errors.print(f"error: ingest job {handle.id} {state.state}: "
                     f"{state.error or state.message}", markup=False, highlight=False)
        raise typer.Exit(1)
    return ingest_outcomes(handle.db, handle.id)
